// serve with each proxy family upstream: git's smart HTTP (a GET, then POSTs on the reused upstream
// connection, which the per-request proxy challenges) and a ws:// WebSocket forwarded with its Upgrade.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBareRepo, gitHttpBackend } from '../../lab/git-http.js';
import { run } from '../../lab/processes.js';
import { startLocalProxy, type AccessLogEntry } from '../../src/server/local-proxy.js';
import { forgetAuthModes } from '../../src/transport/proxy-auth-session.js';
import { useLab } from '../helpers/lab.js';

const ctx = useLab();

const FAMILIES = [
  { name: 'Squid', proxy: () => ctx.lab.proxies.negotiate },
  { name: 'Apache (per request)', proxy: () => ctx.lab.proxies.perRequest },
] as const;

for (const family of FAMILIES) {
  test(`git clone over smart HTTP through serve, ${family.name} upstream`, async () => {
    const lab = ctx.lab;
    forgetAuthModes(); // the POST after the first GET then meets the per-request proxy's 407
    const dir = mkdtempSync(join(tmpdir(), 'jaato-git-'));
    const content = randomBytes(256 * 1024).toString('base64'); // a pack big enough to stream
    await createBareRepo(join(dir, 'repos'), 'lab', { 'README.md': 'through serve\n', 'big.txt': content });
    lab.origins.http.mount('/git', gitHttpBackend(join(dir, 'repos'), '/git'));
    const entries: AccessLogEntry[] = [];
    const serve = await startLocalProxy({ port: 0, proxy: family.proxy(), kerberos: true, env: {}, log: (e) => entries.push(e) });
    try {
      const env = { ...process.env, ...lab.env, http_proxy: serve.url, HTTP_PROXY: serve.url, no_proxy: '', NO_PROXY: '', HOME: dir, GIT_TERMINAL_PROMPT: '0' };
      await run('git', ['clone', '-q', `${lab.origins.http.url}/git/lab.git`, join(dir, 'clone')], { env });
      assert.equal(readFileSync(join(dir, 'clone', 'big.txt'), 'utf8'), content);
      assert.ok(entries.some((e) => e.method === 'POST' && e.status === 200), JSON.stringify(entries));
      assert.ok(entries.every((e) => e.status === 200 && e.route === 'proxy'), JSON.stringify(entries));
    } finally {
      await serve.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`a ws:// upgrade forwarded to serve passes through (${family.name} upstream, via CONNECT) and echoes`, async () => {
    const lab = ctx.lab;
    const serve = await startLocalProxy({ port: 0, proxy: family.proxy(), kerberos: true, env: {} });
    const socket = connect({ host: '127.0.0.1', port: serve.port });
    try {
      const origin = new URL(lab.origins.http.url);
      socket.write(
        `GET ${origin.origin}/ws/echo HTTP/1.1\r\nHost: ${origin.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      const answer = await readUntil(socket, (b) => b.includes('\r\n\r\n'));
      assert.match(answer.toString('latin1'), /^HTTP\/1\.1 101 /);
      socket.write(maskedTextFrame('hello through serve'));
      const frame = await readUntil(socket, (b) => b.length >= 2 + 'hello through serve'.length);
      assert.equal(frame[0], 0x81, 'a final text frame');
      assert.equal(frame.subarray(2).toString(), 'hello through serve');
      assert.equal(lab.origins.http.seen.at(-1)?.headers.upgrade, 'websocket');
    } finally {
      socket.destroy();
      await serve.close();
    }
  });
}

/** A client's (masked) text frame, RFC 6455 §5.2; payloads under 126 bytes. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** What the socket sends until `done` holds (the bytes of this read only), or rejects after 5 s. */
function readUntil(socket: Socket, done: (b: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error(`no answer; got ${JSON.stringify(got.toString('latin1'))}`)), 5000);
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      if (!done(got)) return;
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(got);
    };
    socket.on('data', onData);
  });
}
