import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { EchoReply } from '../../lab/origin.js';
import { logSince, useLab } from '../helpers/lab.js';
import { curl, exited, labEnv, proxyAuthorization, runCli, SERVE_READY, startCli } from './helpers.js';

const ctx = useLab();
const READY = SERVE_READY;

test('serve: curl without Negotiate gets through for http, https and bypassed hosts; 50 parallel clients; outsiders refused; clean SIGTERM', async () => {
  const lab = ctx.lab;
  const ca = join(lab.dir, 'serve-ca.pem');
  writeFileSync(ca, lab.ca);
  const { child, match, output } = await startCli(['serve', '--port', '0'], labEnv(lab, { JAATO_NO_PROXY: 'localhost' }), READY);
  const local = match[1] as string;
  try {
    const from = lab.accessLog().length;
    const plain = await curl(['-x', local, `${lab.origins.http.url}/via-serve`]);
    assert.equal((JSON.parse(plain.stdout) as EchoReply).url, '/via-serve');
    // Serve's own Via entry (RFC 9110 §7.6.3), a per-instance pseudonym, then Squid's.
    assert.match(String((JSON.parse(plain.stdout) as EchoReply).headers.via), /^1\.1 jaato-proxy-[0-9a-f]{16}, .*squid/);
    const tls = await curl(['-x', local, '--cacert', ca, '-d', 'x=1', `${lab.origins.https.url}/via-serve-tls`]);
    assert.equal((JSON.parse(tls.stdout) as EchoReply).method, 'POST');
    const bypassed = await curl(['-x', local, `${lab.origins.http.url.replace('127.0.0.1', 'localhost')}/bypassed`]);
    assert.match(String((JSON.parse(bypassed.stdout) as EchoReply).headers.via), /^1\.1 jaato-proxy-[0-9a-f]{16}$/, 'went direct: serve in its Via, no Squid');

    // 50 clients at once, half plain http, half CONNECT.
    const urls = Array.from({ length: 50 }, (_, i) => (i % 2 ? `${lab.origins.https.url}/p${i}` : `${lab.origins.http.url}/p${i}`));
    const parallel = await curl(['-x', local, '--cacert', ca, '--parallel', '--parallel-max', '50', '-w', '%{http_code} %{num_connects} %{scheme}\n', ...urls.flatMap((u) => [u, '-o', '/dev/null'])]);
    const results = parallel.stdout.trim().split('\n').map((l) => l.split(' '));
    assert.deepEqual(results.map((r) => r[0]), Array(50).fill('200'));
    // curl may carry a later https URL over a tunnel that already finished: one CONNECT per connection it opened.
    const tunnels = results.filter((r) => r[2]?.toLowerCase() === 'https').reduce((n, r) => n + Number(r[1]), 0);
    assert.ok(tunnels >= 1 && tunnels <= 25, `${tunnels} tunnels`);

    // Another loopback address plays the outsider.
    const outsider = await curl(['--interface', '127.0.0.2', '-o', '/dev/null', '-w', '%{http_code}', '-x', local, `${lab.origins.http.url}/outsider`]);
    assert.equal(outsider.stdout, '403');
    const outsiderTunnel = await curl(['--interface', '127.0.0.2', '-x', local, '--cacert', ca, `${lab.origins.https.url}/outsider`]);
    assert.notEqual(outsiderTunnel.code, 0);

    // Upstream, every request was Kerberos-authenticated; serve logged one line per request.
    // Both logs write a tunnel's line when it closes, after curl has exited: wait for them, bounded.
    const upstream = await logSince(lab, from, 27 + tunnels);
    assert.ok(upstream.length >= 27 + tunnels, `${upstream.length} upstream lines`);
    assert.ok(upstream.every((e) => e.status === 200 && e.user === lab.principal), JSON.stringify(upstream.filter((e) => e.user !== lab.principal)));
    const served = (): string[] => output().split('\n').filter((l) => / (GET|POST|CONNECT) /.test(l));
    // plain, tls, bypassed, 25 forwarded GETs, the tunnels, two outsiders.
    const expected = 3 + 25 + tunnels + 2;
    for (const deadline = Date.now() + 5000; served().length < expected && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    const lines = served();
    assert.equal(lines.length, expected, `${lines.length} log lines`);
    assert.ok(lines.some((l) => / 127\.0\.0\.2 GET - refused 403 /.test(l)));
    assert.ok(lines.some((l) => / GET localhost:\d+ direct 200 \d+B \d+ms$/.test(l)));
    assert.ok(lines.some((l) => / CONNECT 127\.0\.0\.1:\d+ proxy 200 \d+B \d+ms$/.test(l)));

    // Pipelining: two requests in one write on one connection, answered in order.
    const pipelined = await new Promise<string>((resolve, reject) => {
      const port = Number(new URL(local).port);
      const sock = connect(port, '127.0.0.1', () => {
        const target = new URL(lab.origins.http.url);
        const auth = proxyAuthorization(local);
        sock.write(`GET ${target.origin}/first HTTP/1.1\r\nHost: ${target.host}\r\n${auth}\r\nGET ${target.origin}/second HTTP/1.1\r\nHost: ${target.host}\r\n${auth}Connection: close\r\n\r\n`);
      });
      let text = '';
      sock.on('data', (d: Buffer) => (text += d.toString()));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    assert.deepEqual([...pipelined.matchAll(/"url":"(\/\w+)"/g)].map((m) => m[1]), ['/first', '/second']);

    // Large bodies are streamed both ways (10 MB down through a tunnel, 10 MB up forwarded).
    const down = await curl(['-x', local, '--cacert', ca, '-o', '/dev/null', '-w', '%{size_download}', `${lab.origins.https.url}/bytes/10485760`]);
    assert.equal(down.stdout, '10485760');
    const big = join(lab.dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(10 * 1024 * 1024, 1));
    const up = await curl(['-x', local, '--data-binary', `@${big}`, `${lab.origins.http.url}/upload`]);
    assert.equal((JSON.parse(up.stdout) as EchoReply).bodyBytes, 10 * 1024 * 1024);

    // A tunnel in flight does not hold up a SIGTERM.
    const slow = curl(['-x', local, '--cacert', ca, `${lab.origins.https.url}/delay/10000`]);
    // In flight once the origin has the request (the tunnel and TLS are up, the answer is 10 s away).
    for (const deadline = Date.now() + 10_000; !lab.origins.https.seen.some((r) => r.url === '/delay/10000'); ) {
      assert.ok(Date.now() < deadline, 'the slow request never reached the origin');
      await new Promise((r) => setTimeout(r, 25));
    }
    const started = Date.now();
    child.kill('SIGTERM');
    assert.equal(await exited(child), 0);
    assert.notEqual((await slow).code, 0, 'the in-flight tunnel was closed');
    assert.ok(Date.now() - started < 3000);
  } finally {
    child.kill('SIGKILL');
  }
});

test('serve refuses to use itself as its upstream, naming the variable', async () => {
  const r = await runCli(['serve', '--port', '47391'], { PATH: process.env.PATH, HTTPS_PROXY: 'http://127.0.0.1:47391' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^jaato-proxy: HTTPS_PROXY: points at this local proxy itself/);
});

test('serve on a taken port: one line naming the port and the option that fixes it', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as AddressInfo).port;
  try {
    const r = await runCli(['serve', '--port', String(port)], { PATH: process.env.PATH, HTTPS_PROXY: 'http://proxy.corp:8080' });
    assert.deepEqual(r, { code: 1, stdout: '', stderr: `jaato-proxy: port ${port} is in use: choose another with --port\n` });
  } finally {
    taken.close();
  }
});
