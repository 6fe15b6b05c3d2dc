// serve relays a forwarded answer straight into the client's response (response-relay.ts): the
// client's backpressure pauses the upstream read, and a client that leaves mid-answer ends the upstream
// exchange instead of leaving it paused forever. Direct route (no proxy variables), loopback origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { startLocalProxy, type AccessLogEntry } from '../../src/server/local-proxy.js';

/** Polls `check` every 50 ms until it holds or `ms` pass. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

test('a client that leaves in the middle of an endless forwarded answer: serve ends the upstream exchange and logs the bytes it relayed', async () => {
  let originRes: ServerResponse | undefined;
  let originClosedEarly = false;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const origin = createServer((req, res) => {
    originRes = res;
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const more = (): void => {
      while (res.write(chunk));
      res.once('drain', more);
    };
    more();
    res.on('close', () => (originClosedEarly = !res.writableFinished));
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const port = (origin.address() as AddressInfo).port;
  const entries: AccessLogEntry[] = [];
  const serve = await startLocalProxy({ port: 0, env: {}, log: (e) => entries.push(e) });
  try {
    const client = connect(serve.port, '127.0.0.1', () => client.write(`GET http://127.0.0.1:${port}/endless HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      client.on('error', reject);
      client.on('data', (d: Buffer) => {
        received += d.length;
        if (received > 1024 * 1024) {
          client.destroy();
          resolve();
        }
      });
    });
    assert.ok(originRes, 'the origin got the request');
    assert.ok(await until(() => originClosedEarly, 10_000), 'the origin\'s answer was not ended after the client left (the upstream read stays paused)');
    assert.ok(await until(() => entries.length === 1, 10_000), 'no log line');
    const [entry] = entries;
    assert.equal(entry?.status, 200);
    assert.equal(entry?.route, 'direct');
    assert.ok((entry?.bytes ?? 0) >= 1024 * 1024 - 64 * 1024, JSON.stringify(entry));
  } finally {
    await serve.close();
    origin.closeAllConnections();
    await new Promise<void>((resolve) => origin.close(() => resolve()));
  }
});

test('a tunnel whose remote end sends its last bytes and closes: a slow client still gets every byte', async () => {
  // The origin writes 64 MB at once (more than the kernel's buffers hold) and closes; the client reads
  // a chunk every few milliseconds. Without backpressure the relay would queue what the client has not
  // read and lose it when the origin's side closes (measured: 5.9 of 64 MB arrived).
  const total = 64 * 1024 * 1024;
  const origin = createNetServer((s) => s.end(Buffer.alloc(total, 0x62)));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const port = (origin.address() as AddressInfo).port;
  const serve = await startLocalProxy({ port: 0, env: {} });
  try {
    const client = connect(serve.port, '127.0.0.1', () => client.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    const received = await new Promise<number>((resolve, reject) => {
      let head = '';
      let body = 0;
      client.on('error', reject);
      client.on('data', (d: Buffer) => {
        if (!head.includes('\r\n\r\n')) {
          head += d.toString('latin1');
          const at = head.indexOf('\r\n\r\n');
          if (at < 0) return;
          body += Buffer.byteLength(head.slice(at + 4), 'latin1');
          head = head.slice(0, at + 4);
        } else body += d.length;
        // A slow reader (the behaviour under test, not a wait for something).
        client.pause();
        setTimeout(() => client.resume(), 2);
      });
      client.on('close', () => resolve(body));
    });
    assert.equal(received, total, `the client got ${received} of ${total} bytes`);
  } finally {
    await serve.close();
    await new Promise<void>((resolve) => origin.close(() => resolve()));
  }
});
