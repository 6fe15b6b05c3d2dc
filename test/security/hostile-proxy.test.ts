// A hostile proxy (issue 24): scripted on loopback, it answers what no honest proxy does: endless
// status lines, header floods, 1xx floods, 407 loops, an oversized Negotiate token, bytes after a
// CONNECT 200. Every client (fetch and the node agents, forwarded http: and tunnelled https:) must stop
// at the bounds (HEAD_LIMITS: a line 16 KiB, a head 64 KiB, 100 fields; 3 auth attempts) with a typed
// error that names the proxy and shows no credential, long before the 300 s headers timeout. The
// Negotiate cases use the real lab's KDC: the tokens sent to the scripted proxy are real.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { createAgents } from '../../src/adapters/node/agents.js';
import { createFetch } from '../../src/adapters/fetch.js';
import { JaatoProxyError, unwrapError } from '../../src/errors.js';
import { HEAD_LIMITS } from '../../src/transport/response-head.js';
import { startLocalProxy } from '../../src/server/local-proxy.js';
import { useLab } from '../helpers/lab.js';
import { scriptedProxy, type Reply } from '../helpers/scripted-proxy.js';

useLab();

const MARKER = 'hostile-MARKER-pw-7Qz';
/** A proxy that writes without end is cut off here: far past any bound, far below "gigabytes". */
const RUNAWAY = 256 * 1024 * 1024;
/** Every bound must hold long before the headers timeout (300 s); generous for a loaded machine. */
const PROMPT = 20_000;

type Client = 'fetch http' | 'fetch https' | 'agent http' | 'agent https';
const CLIENTS: Client[] = ['fetch http', 'fetch https', 'agent http', 'agent https'];

/** One request through `proxyUrl` with `client`; resolves with what it ended in (never hangs past 60 s). */
async function attempt(client: Client, proxyUrl: string, extraEnv: Record<string, string> = {}): Promise<{ error?: unknown; status?: number; body?: string; ms: number }> {
  const env = { HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, JAATO_KERBEROS_PROXY: 'false', ...extraEnv };
  const target = `${client.endsWith('https') ? 'https' : 'http'}://origin.test/secret-path?token=abc`;
  const started = Date.now();
  const signal = AbortSignal.timeout(60_000);
  try {
    if (client.startsWith('fetch')) {
      const res = await createFetch({ env, ca: [] })(target, { signal });
      return { status: res.status, body: await res.text(), ms: Date.now() - started };
    }
    const agents = createAgents({ env });
    try {
      return await new Promise((resolve) => {
        const get = client.endsWith('https') ? httpsGet : httpGet;
        const req = get(target, { agent: client.endsWith('https') ? agents.https : agents.http, signal }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString())).on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started }));
          res.on('error', (error) => resolve({ error, ms: Date.now() - started }));
        });
        req.on('error', (error) => resolve({ error, ms: Date.now() - started }));
      });
    } finally {
      agents.http.destroy();
      agents.https.destroy();
    }
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

/** Writes `prefix`, then `unit` without end (honouring backpressure) until the peer leaves or RUNAWAY. */
function endless(socket: Socket, prefix: string, unit: string): void {
  socket.write(prefix);
  const chunk = Buffer.from(unit.repeat(Math.ceil(65_536 / unit.length)), 'latin1');
  const pump = (): void => {
    while (!socket.destroyed && socket.bytesWritten < RUNAWAY) if (!socket.write(chunk)) return;
    if (socket.bytesWritten >= RUNAWAY) socket.destroy();
  };
  socket.on('drain', pump);
  pump();
}

/** The error as a caller can see it, every way it can be printed. */
function printed(error: unknown): string {
  const parts: string[] = [inspect(error, { depth: 10, showHidden: true })];
  for (let e = error, n = 0; e instanceof Error && n < 10; e = e.cause, n++) parts.push(e.message, String(e.stack));
  try {
    parts.push(JSON.stringify(error));
  } catch {
    // a cycle: inspect covered it
  }
  return parts.join('\n');
}

/** Runs `reply` as the proxy for each client; checks a typed, prompt error, and what the proxy had to write. */
async function eachClient(reply: Reply, check: (client: Client, error: JaatoProxyError, written: number) => void, extraEnv?: Record<string, string>): Promise<void> {
  for (const client of CLIENTS) {
    let written = 0;
    const proxy = await scriptedProxy((head, socket, n) => {
      socket.once('close', () => (written += socket.bytesWritten));
      reply(head, socket, n);
    });
    try {
      const url = new URL(proxy.url);
      url.username = 'bob';
      url.password = MARKER;
      const r = await attempt(client, url.href, extraEnv);
      await proxy.close();
      assert.ok(r.error, `${client}: no error (status ${r.status})`);
      const ours = unwrapError(r.error);
      assert.ok(ours instanceof JaatoProxyError, `${client}: not a JaatoProxyError: ${inspect(r.error)}`);
      assert.ok(r.ms < PROMPT, `${client}: ${r.ms} ms`);
      assert.match(ours.message, /proxy http:\/\/\*\*\*\*:\*\*\*\*@localhost:\d+\//, `${client}: the proxy is named, redacted`);
      const text = printed(r.error);
      assert.ok(!text.includes(MARKER), `${client}: the password in ${text}`);
      assert.ok(!text.includes('secret-path') && !text.includes('token=abc'), `${client}: the path or query in ${text}`);
      check(client, ours, written);
    } finally {
      await proxy.close();
    }
  }
}

test(`an endless status line: every client stops at ${HEAD_LIMITS.line} bytes, typed, without waiting for the headers timeout`, async () => {
  await eachClient(
    (_head, socket) => endless(socket, 'HTTP/1.1 200 ', 'A'),
    (client, error, written) => {
      assert.match(error.message, new RegExp(`a line longer than ${HEAD_LIMITS.line} bytes`), client);
      // Socket buffers on loopback hold a few MB; without the bound the proxy writes until RUNAWAY.
      assert.ok(written < 64 * 1024 * 1024, `${client}: the proxy wrote ${written} bytes`);
    },
  );
});

test('an endless status line after a 200 CONNECT is the tunnel\'s, not a head: https fails in TLS; the same on a forwarded answer body is just a body', async () => {
  // Control for the bound's scope: bytes after a final head are never counted as head.
  const proxy = await scriptedProxy((_head, socket) => {
    const body = 'x'.repeat(100_000);
    socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  });
  try {
    for (const client of ['fetch http', 'agent http'] as const) {
      const r = await attempt(client, proxy.url);
      assert.equal(r.status, 200, `${client}: ${inspect(r.error)}`);
      assert.equal(r.body?.length, 100_000);
    }
  } finally {
    await proxy.close();
  }
});

test(`a header flood: every client stops (at ${HEAD_LIMITS.fields} fields or ${HEAD_LIMITS.total} bytes), typed`, async () => {
  await eachClient(
    (_head, socket) => endless(socket, 'HTTP/1.1 200 OK\r\n', 'X-Flood: yes\r\n'),
    (client, error, written) => {
      assert.match(error.message, /more than \d+ header fields|a head larger than \d+ bytes|HEADERS_OVERFLOW/, client);
      assert.ok(written < 64 * 1024 * 1024, `${client}: the proxy wrote ${written} bytes`);
    },
  );
});

test(`a 1xx flood: every client stops at ${HEAD_LIMITS.total} bytes of interim heads, typed`, async () => {
  await eachClient(
    (_head, socket) => endless(socket, '', 'HTTP/1.1 100 Continue\r\n\r\n'),
    (client, error, written) => {
      assert.match(error.message, /a head larger than \d+ bytes|bad response|not valid HTTP/, client);
      assert.ok(written < 64 * 1024 * 1024, `${client}: the proxy wrote ${written} bytes`);
    },
  );
});

test('a 407 loop answering Basic: one retry with the credential, then ProxyAuthenticationError, the password never shown', async () => {
  let heads = 0;
  await eachClient(
    (_head, socket) => {
      heads++;
      socket.write('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="loop"\r\nContent-Length: 0\r\n\r\n');
    },
    (client, error) => {
      assert.equal(error.code, 'ERR_JAATO_PROXY_AUTH', client);
      assert.ok(heads <= 3, `${client}: ${heads} requests to the proxy`);
      heads = 0;
    },
  );
});

test('a 407 loop answering Negotiate (real tokens from the lab KDC): bounded attempts, then a typed error', async () => {
  let heads = 0;
  await eachClient(
    (_head, socket) => {
      heads++;
      socket.write('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n');
    },
    (client, error) => {
      assert.equal(error.code, 'ERR_JAATO_PROXY_AUTH', client);
      assert.ok(heads <= 4, `${client}: ${heads} requests to the proxy`);
      heads = 0;
    },
    { JAATO_KERBEROS_PROXY: 'true' },
  );
});

test('an oversized Negotiate token in Proxy-Authenticate (60 KB): refused, typed, no hang', async () => {
  const token = Buffer.alloc(45_000, 0x61).toString('base64');
  await eachClient(
    (_head, socket) => socket.write(`HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate ${token}\r\nContent-Length: 0\r\n\r\n`),
    (client, error) => {
      assert.ok(!error.message.includes(token.slice(0, 64)), `${client}: the token is echoed in the message`);
    },
    { JAATO_KERBEROS_PROXY: 'true' },
  );
});

test('bytes after a CONNECT 200 reach only TLS: a forged HTTP answer there is never delivered as the origin\'s', async () => {
  const proxy = await scriptedProxy((head, socket) => {
    if (head.startsWith('CONNECT ')) socket.write('HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged');
    else socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
  });
  try {
    for (const client of ['fetch https', 'agent https'] as const) {
      const r = await attempt(client, proxy.url);
      assert.equal(r.status, undefined, `${client}: answered ${r.status} ${r.body}`);
      assert.ok(r.error, client);
      assert.doesNotMatch(printed(r.error), /forged/, client);
      assert.ok(r.ms < PROMPT, `${client}: ${r.ms} ms`);
    }
  } finally {
    await proxy.close();
  }
});

test('serve in front of a hostile upstream: an endless status line is a prompt 502 naming the bound, for a forwarded request and a CONNECT', async () => {
  const proxy = await scriptedProxy((_head, socket) => endless(socket, 'HTTP/1.1 200 ', 'A'));
  const serve = await startLocalProxy({ port: 0, proxy: proxy.url, env: {} });
  try {
    for (const head of ['GET http://origin.test/x HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n', 'CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n']) {
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const s = connect(serve.port, '127.0.0.1', () => s.write(head));
        let got = '';
        s.on('data', (d: Buffer) => (got += d.toString('latin1')));
        s.on('close', () => resolve(got));
        s.on('error', reject);
        s.setTimeout(60_000, () => s.destroy());
      });
      assert.match(answer, /^HTTP\/1\.1 502 Bad Gateway\r\n/, answer.slice(0, 300));
      assert.match(answer, new RegExp(`a line longer than ${HEAD_LIMITS.line} bytes`));
      assert.ok(Date.now() - started < PROMPT, `${Date.now() - started} ms`);
    }
  } finally {
    await serve.close();
    await proxy.close();
  }
});
