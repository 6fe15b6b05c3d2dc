import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readResponseHead } from '../../src/transport/response-head.js';

async function read(chunks: string[], connect = true, end = false): Promise<{ head: Awaited<ReturnType<typeof readResponseHead>>; rest: string }> {
  const s = new PassThrough();
  const p = readResponseHead(s, { connect });
  for (const c of chunks) s.write(c);
  if (end) s.end();
  const head = await p;
  const rest = (s.read() as Buffer | null)?.toString() ?? '';
  return { head, rest };
}

test('2xx to CONNECT: bytes after the head stay in the socket for the tunnel', async () => {
  const { head, rest } = await read(['HTTP/1.1 200 Connection established\r\n', 'Via: x\r\n\r\n\x16\x03\x01']);
  assert.equal(head.statusCode, 200);
  assert.equal(head.statusText, 'Connection established');
  assert.equal(rest, '\x16\x03\x01');
});

test('407 with Content-Length: body drained, reusable, repeated challenges kept', async () => {
  const { head, rest } = await read([
    'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nProxy-Authenticate: Basic realm="x"\r\nContent-Length: 5\r\n\r\nab',
    'cdeNEXT',
  ]);
  assert.equal(head.statusCode, 407);
  assert.deepEqual(head.headers['proxy-authenticate'], ['Negotiate', 'Basic realm="x"']);
  assert.equal(head.reusable, true);
  assert.equal(rest, 'NEXT');
});

test('407 with a chunked body (other proxies than Squid): drained chunk by chunk', async () => {
  const { head, rest } = await read(['HTTP/1.1 407 No\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab', 'c\r\n10\r\n0123456789abcdef\r\n0\r\n', '\r\nX']);
  assert.equal(head.reusable, true);
  assert.equal(rest, 'X');
});

test('Connection: close, HTTP/1.0 without keep-alive, and bodies until close are not reusable', async () => {
  assert.equal((await read(['HTTP/1.1 407 No\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'])).head.reusable, false);
  assert.equal((await read(['HTTP/1.0 407 No\r\nContent-Length: 0\r\n\r\n'])).head.reusable, false);
  assert.equal((await read(['HTTP/1.0 407 No\r\nProxy-Connection: keep-alive\r\nContent-Length: 0\r\n\r\n'])).head.reusable, true);
  assert.equal((await read(['HTTP/1.1 407 No\r\n\r\nbody until close'], true, true)).head.reusable, false);
});

test('garbage and early close are errors', async () => {
  await assert.rejects(read(['SSH-2.0-OpenSSH\r\n\r\n']), /not HTTP\/1\.x/);
  await assert.rejects(read(['HTTP/1.1 200 OK\r\n'], true, true), /closed the connection/);
});
