import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProxyAgent } from 'undici';
import { createBareRepo, gitHttpBackend } from '../../lab/git-http.js';
import type { Lab } from '../../lab/lab.js';
import type { EchoReply } from '../../lab/origin.js';
import { run } from '../../lab/processes.js';
import { logSince, quietLogLength, useLab, type LogReader } from '../helpers/lab.js';
import { WS_EXPECTED, undiciEcho, wsUrl } from '../helpers/websocket.js';
import { curl, exited, labEnv, proxyAuthorization, SERVE_READY, startCli } from '../cli/helpers.js';

/**
 * The conformance table's `serve` family: plain clients (curl, git, undici's WebSocket) that know
 * nothing of Kerberos, through `jaato-proxy serve`, upstream each lab Negotiate proxy in turn.
 */
const ctx = useLab();
const READY = SERVE_READY;
const MB = 1024 * 1024;

const PROXIES: ReadonlyArray<{ name: 'squid' | 'apache'; url: (lab: Lab) => string; log: LogReader; via: RegExp }> = [
  { name: 'squid', url: (lab) => lab.proxies.negotiate, log: (lab) => lab.accessLog(), via: /squid/ },
  { name: 'apache', url: (lab) => lab.proxies.perRequest, log: (lab) => lab.perRequestLog(), via: /jaato-lab-apache/ },
];

/** One client-to-server WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, masked, payload < 126 bytes). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const echo = (stdout: string): EchoReply => JSON.parse(stdout) as EchoReply;

for (const proxy of PROXIES) {
  describe(`conformance: serve, upstream ${proxy.name}`, () => {
    let child: ChildProcess | undefined;
    let local = '';
    let dir = '';
    let ca = '';
    before(async () => {
      const lab = ctx.lab;
      dir = mkdtempSync(join(lab.dir, `serve-${proxy.name}-`));
      ca = join(dir, 'ca.pem');
      writeFileSync(ca, lab.ca);
      const upstream = proxy.url(lab);
      const started = await startCli(['serve', '--port', '0'], labEnv(lab, { HTTP_PROXY: upstream, HTTPS_PROXY: upstream }), READY);
      child = started.child;
      local = started.match[1] as string;
    });
    after(async () => {
      if (child) {
        child.kill('SIGTERM');
        await exited(child);
      }
      rmSync(dir, { recursive: true, force: true });
    });

    test(`[${proxy.name}] http forwarded and https tunnelled, each authenticated upstream as the lab user`, async () => {
      const lab = ctx.lab;
      const from = await quietLogLength(lab, proxy.log);
      const plain = await curl(['-x', local, `${lab.origins.http.url}/serve-plain`]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(String(echo(plain.stdout).headers.via), proxy.via);
      const tls = await curl(['-x', local, '--cacert', ca, `${lab.origins.https.url}/serve-tls`]);
      assert.equal(tls.code, 0, tls.stderr);
      assert.equal(echo(tls.stdout).tls, true);
      const log = await logSince(lab, from, 2, proxy.log);
      assert.deepEqual(log.filter((e) => e.status !== 407).map((e) => [e.method, e.status, e.user]).sort(), [
        ['CONNECT', 200, lab.principal],
        ['GET', 200, lab.principal],
      ]);
    });

    test(`[${proxy.name}] 20 sequential GETs on one client connection: at most one 407 upstream, one upstream connection`, async () => {
      const lab = ctx.lab;
      const from = await quietLogLength(lab, proxy.log);
      const urls = Array.from({ length: 20 }, (_, i) => `${lab.origins.http.url}/serve-seq-${i}`);
      const out = await curl(['-x', local, '-w', '%{http_code}\n', ...urls.flatMap((u) => [u, '-o', '/dev/null'])]);
      assert.deepEqual(out.stdout.trim().split('\n'), Array(20).fill('200'), out.stderr);
      const log = await logSince(lab, from, 20, proxy.log);
      const challenged = log.filter((e) => e.status === 407).length;
      assert.ok(challenged <= 1, `${challenged} x 407 upstream`);
      assert.equal(log.filter((e) => e.status === 200 && e.user === lab.principal).length, 20);
      assert.equal(new Set(log.map((e) => e.clientPort)).size, 1, 'serve kept one upstream connection alive');
    });

    test(`[${proxy.name}] POST bodies arrive whole on a reused upstream connection (string, 2 MiB, chunked)`, async () => {
      const lab = ctx.lab;
      const warm = await curl(['-x', local, '-o', '/dev/null', '-w', '%{http_code}', `${lab.origins.http.url}/serve-warm`]);
      assert.equal(warm.stdout, '200');
      const big = Buffer.alloc(2 * MB);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
      const file = join(dir, 'big.bin');
      writeFileSync(file, big);
      const cases: Array<[string, string[], Buffer]> = [
        ['string', ['--data-binary', 'jaato-7'], Buffer.from('jaato-7')],
        ['2 MiB', ['--data-binary', `@${file}`], big],
        ['2 MiB chunked', ['-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`], big],
      ];
      // Every kind is tried and the failures reported together.
      const failures: string[] = [];
      for (const [kind, args, sent] of cases) {
        const res = await curl(['-x', local, ...args, `${lab.origins.http.url}/serve-post`]);
        let reply: EchoReply | undefined;
        try {
          reply = echo(res.stdout);
        } catch {
          failures.push(`${kind}: curl ${res.code}, not the echo: ${(res.stdout + res.stderr).slice(0, 200)}`);
          continue;
        }
        if (reply.bodyBytes !== sent.length || reply.bodySha256 !== sha256(sent)) failures.push(`${kind}: ${reply.bodyBytes} of ${sent.length} bytes, or SHA-256 differs`);
      }
      assert.deepEqual(failures, []);
    });

    test(`[${proxy.name}] git clone over smart HTTP through serve`, async () => {
      const lab = ctx.lab;
      const big = Buffer.alloc(2 * MB);
      for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
      const repos = join(dir, 'repos');
      await createBareRepo(repos, 'demo', { 'README.md': `hello through ${proxy.name}\n`, 'big.bin': big });
      lab.origins.http.mount(`/git-${proxy.name}/`, gitHttpBackend(repos, `/git-${proxy.name}`));
      const from = await quietLogLength(lab, proxy.log);
      const out = join(dir, 'clone');
      await run('git', ['-c', `http.proxy=${local}`, 'clone', '-q', `${lab.origins.http.url}/git-${proxy.name}/demo.git`, out], {
        env: { PATH: process.env.PATH, HOME: dir, GIT_TERMINAL_PROMPT: '0' },
      });
      assert.equal(readFileSync(join(out, 'README.md'), 'utf8'), `hello through ${proxy.name}\n`);
      assert.ok(readFileSync(join(out, 'big.bin')).equals(big));
      const log = await logSince(lab, from, 2, proxy.log);
      assert.ok(log.some((e) => e.method === 'POST' && e.url.endsWith('/git-upload-pack') && e.status === 200 && e.user === lab.principal), JSON.stringify(log));
    });

    for (const scheme of ['ws', 'wss'] as const) {
      test(`[${proxy.name}] ${scheme}:// echo through serve (undici's WebSocket, serve as its plain proxy)`, async () => {
        const lab = ctx.lab;
        const origin = scheme === 'ws' ? lab.origins.http : lab.origins.https;
        const dispatcher = new ProxyAgent({ uri: local, requestTls: { ca: lab.ca } });
        try {
          assert.deepEqual(await undiciEcho(wsUrl(origin.url, '/ws/serve'), dispatcher), WS_EXPECTED);
        } finally {
          await dispatcher.close();
        }
        for (const o of [lab.origins.http, lab.origins.https]) for (const seen of o.seen) assert.equal(seen.headers['proxy-authorization'], undefined);
      });
    }

    test(`[${proxy.name}] ws:// Upgrade sent to serve in absolute form (as a plain HTTP proxy gets it) is passed through and echoes`, async () => {
      const lab = ctx.lab;
      const { port } = new URL(local);
      const text = 'upgrade passed through';
      const echoed = await new Promise<string>((resolve, reject) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port: Number(port),
          path: `${wsUrl(lab.origins.http.url, '/ws/absolute')}`,
          headers: { host: `127.0.0.1:${lab.origins.http.port}`, 'proxy-authorization': proxyAuthorization(local).slice('Proxy-Authorization: '.length, -2), connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') },
        });
        const timer = setTimeout(() => {
          req.destroy();
          reject(new Error('no 101 or no echo within 10 s'));
        }, 10_000);
        req.on('error', reject);
        req.on('response', (res) => {
          clearTimeout(timer);
          res.resume();
          reject(new Error(`serve answered ${res.statusCode}, not 101`));
        });
        req.on('upgrade', (_res, socket) => {
          socket.write(maskedTextFrame(text));
          let got = Buffer.alloc(0);
          socket.on('data', (d: Buffer) => {
            got = Buffer.concat([got, d]);
            const len = got[1] ?? 0;
            if (got.length >= 2 + len) {
              clearTimeout(timer);
              socket.destroy();
              resolve(got.subarray(2, 2 + len).toString('utf8'));
            }
          });
        });
        req.end();
      });
      assert.equal(echoed, text);
    });
  });
}
