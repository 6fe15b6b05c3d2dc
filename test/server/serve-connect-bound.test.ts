// serve's direct dial for a CONNECT (issue 25) is bounded by the connect timeout, as every other dial
// is. The unanswering address is a real listener on loopback whose accept queue is full (its process
// never accepts): the kernel drops further SYNs, so a connect neither succeeds nor fails until the
// system's timeout, minutes away.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { startLocalProxy, type AccessLogEntry } from '../../src/server/local-proxy.js';
import { formatAccessLog } from '../../src/cli/commands/serve.js';
import { connectDirect, DirectConnectTimeoutError } from '../../src/server/direct-dial.js';

const held: Socket[] = [];
let blocker: ChildProcess | undefined;
after(() => {
  for (const s of held) s.destroy();
  blocker?.kill('SIGKILL');
});

/** A port on 127.0.0.1 whose listener never accepts and whose queue is full. */
async function silentPort(): Promise<number> {
  const script = `const s = require('net').createServer().listen(0, '127.0.0.1', 1, () => { process.stdout.write(s.address().port + '\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000); });`;
  // Blocked, it cannot watch for this process's end: it holds no pipe of the runner's and ends by itself.
  blocker = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<number>((resolve, reject) => {
    blocker?.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    blocker?.once('exit', (code) => reject(new Error(`the listener exited (${code})`)));
  });
  // Fill the queue: connections complete until it is full; the first that does not within 1 s is dropped.
  for (let i = 0; i < 16; i++) {
    const s = connect(port, '127.0.0.1');
    held.push(s);
    s.on('error', () => undefined);
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1000);
      s.once('connect', () => (clearTimeout(timer), resolve(true)));
    });
    if (!ok) return port;
  }
  throw new Error('the accept queue never filled');
}

let silent: Promise<number> | undefined;
const sharedSilentPort = (): Promise<number> => (silent ??= silentPort());

test('a CONNECT that serve dials directly to an address that never answers: 502 after the connect bound, typed text, the reason in the access log', async () => {
  const port = await sharedSilentPort();
  const entries: AccessLogEntry[] = [];
  const serve = await startLocalProxy({ port: 0, env: {}, connectTimeout: 1500, log: (e) => entries.push(e) });
  try {
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect(serve.port, '127.0.0.1', () => s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', reject);
      s.setTimeout(60_000, () => s.destroy());
    });
    const ms = Date.now() - started;
    assert.match(answer, /^HTTP\/1\.1 502 Bad Gateway\r\n/, answer);
    assert.match(answer, new RegExp(`Timed out after 1500 ms connecting to 127\\.0\\.0\\.1:${port} \\(direct\\)`));
    assert.ok(ms >= 1400 && ms < 15_000, `${ms} ms`);
    // The access log says why, as the client was told; the CLI prints it on the entry's line.
    const entry = entries.find((e) => e.method === 'CONNECT');
    assert.equal(entry?.route, 'error');
    assert.equal(entry?.status, 502);
    assert.match(entry?.reason ?? '', new RegExp(`^jaato-proxy: Timed out after 1500 ms connecting to 127\\.0\\.0\\.1:${port} \\(direct\\)`));
    assert.match(formatAccessLog(entry as AccessLogEntry), new RegExp(` CONNECT 127\\.0\\.0\\.1:${port} error 502 0B \\d+ms \\(jaato-proxy: Timed out after 1500 ms`));
  } finally {
    await serve.close();
  }
});

test('the direct dial itself rejects with a typed DirectConnectTimeoutError naming the address and the bound', async () => {
  const port = await sharedSilentPort();
  await assert.rejects(connectDirect('127.0.0.1', port, 800), (e: unknown) => {
    assert.ok(e instanceof DirectConnectTimeoutError, String(e));
    assert.equal(e.code, 'ERR_JAATO_CONNECT_TIMEOUT');
    assert.equal(e.timeout, 800);
    assert.equal(e.message, `Timed out after 800 ms connecting to 127.0.0.1:${port} (direct)`);
    return true;
  });
});
