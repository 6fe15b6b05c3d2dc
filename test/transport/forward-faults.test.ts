// Faults on the forwarded (absolute-form http) path, from scripted proxies: each ends in a typed
// JaatoProxyError naming the proxy, within its bound, with undici's own error as the cause.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createAgents, createFetch, JaatoProxyError, ProxyAuthenticationError, ProxyConnectionError, ProxyTimeoutError, RequestBodyReplayError, unwrapError } from '../../src/index.js';
import { useLab } from '../helpers/lab.js';
import { scriptedProxy, type Reply } from '../helpers/scripted-proxy.js';
import { RETRY_DELAYS } from '../../src/transport/retry-decision.js';

useLab(); // real tickets: the pre-auth tokens sent to the scripted proxies are real

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok';

/** Fetches http://origin.test/ through a scripted proxy; resolves to the error the caller sees. */
async function failureThrough(reply: Reply, options: { headersTimeout?: number; kerberos?: boolean; bodyReplayLimit?: number; body?: () => AsyncIterable<Uint8Array> } = {}) {
  const p = await scriptedProxy(reply);
  const f = createFetch({ proxy: p.url, kerberos: options.kerberos ?? true, env: {}, ...(options.headersTimeout && { headersTimeout: options.headersTimeout }), ...(options.bodyReplayLimit && { bodyReplayLimit: options.bodyReplayLimit }) });
  const started = Date.now();
  try {
    const init: RequestInit & { duplex?: 'half' } = {};
    if (options.body) Object.assign(init, { method: 'POST', body: ReadableStream.from(options.body()), duplex: 'half' });
    await f('http://origin.test/secret-path?key=SECRET', init).then((r) => r.arrayBuffer());
    assert.fail('the request should have failed');
  } catch (error) {
    assert.ok(error instanceof TypeError, 'fetch reports a network failure as TypeError');
    const cause = unwrapError(error);
    assert.ok(cause instanceof JaatoProxyError, `a JaatoProxyError, got ${String(cause)}`);
    assert.ok(cause.message.includes(`proxy ${p.url}/ (from options.proxy)`), `names the proxy: ${cause.message}`);
    assert.doesNotMatch(cause.message, /SECRET|secret-path/, 'never the path or query');
    return { cause, ms: Date.now() - started, proxy: p };
  } finally {
    await f.dispatcher.close().catch(() => undefined);
    await p.close();
  }
}

test('a proxy that never answers a forwarded request: ProxyTimeoutError naming the phase, within the bound', async () => {
  const { cause, ms } = await failureThrough(() => undefined, { headersTimeout: 600 });
  assert.ok(cause instanceof ProxyTimeoutError);
  assert.equal(cause.phase, 'response');
  assert.match(cause.message, /^Timed out after 600 ms waiting for the answer to GET http:\/\/origin\.test from proxy/);
  assert.equal((cause.cause as { code?: string }).code, 'UND_ERR_HEADERS_TIMEOUT');
  assert.ok(ms < 5000, `${ms} ms`);
});

test('a proxy that closes in the middle of its answer: ProxyConnectionError with the cause', async () => {
  const { cause } = await failureThrough((_h, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart');
    setTimeout(() => socket.destroy(), 20);
  });
  assert.ok(cause instanceof ProxyConnectionError);
  assert.match(cause.message, /^The connection to proxy \S+ \(from options.proxy\) failed during GET http:\/\/origin\.test: \w+: /);
  assert.ok(cause.cause instanceof Error);
});

test('a proxy that answers with something that is not HTTP: ProxyConnectionError', async () => {
  const { cause } = await failureThrough((_h, socket) => socket.end('HELLO THERE\r\n\r\n'));
  assert.ok(cause instanceof ProxyConnectionError);
  assert.match(cause.message, /failed during GET http:\/\/origin\.test: .*HTTP\/1\.1 protocol/);
});

test('a proxy that dies with POSTs in flight: every one fails with ProxyConnectionError, none is sent again', async () => {
  const p = await scriptedProxy(() => undefined);
  const f = createFetch({ proxy: p.url, kerberos: true, env: {} });
  try {
    const inFlight = Array.from({ length: 4 }, (_, i) => f(`http://origin.test/${i}`, { method: 'POST' }).then(() => 'answered', (e: unknown) => unwrapError(e)));
    while (p.heads.length < 4) await new Promise((r) => setTimeout(r, 10));
    p.killConnections();
    const results = await Promise.all(inFlight);
    for (const r of results) assert.ok(r instanceof ProxyConnectionError, String(r));
    assert.equal(p.heads.length, 4, 'no POST went to the proxy twice');
  } finally {
    await f.dispatcher.close().catch(() => undefined);
    await p.close();
  }
});

test('a proxy that dies for good with GETs in flight: each is sent again within the retry budget, then fails typed (refused)', async () => {
  const p = await scriptedProxy(() => undefined);
  const f = createFetch({ proxy: p.url, kerberos: true, env: {} });
  try {
    const inFlight = Array.from({ length: 4 }, (_, i) => f(`http://origin.test/${i}`).then(() => 'answered', (e: unknown) => unwrapError(e)));
    while (p.heads.length < 4) await new Promise((r) => setTimeout(r, 10));
    const closing = p.close();
    p.killConnections();
    await closing;
    const started = Date.now();
    const results = await Promise.all(inFlight);
    for (const r of results) {
      assert.ok(r instanceof ProxyConnectionError, String(r));
      assert.match(r.message, /ECONNREFUSED/, 'the last attempt found the proxy gone');
    }
    // The attempts end it (each refused at once): their waits, stretched by jitter, and a margin for a loaded machine.
    const waits = RETRY_DELAYS.reduce((a, b) => a + b, 0) * 1.25;
    assert.ok(Date.now() - started < waits + 3000, `gave up after ${Date.now() - started} ms (waits of ${RETRY_DELAYS.join(', ')} ms, 5 attempts)`);
  } finally {
    await f.dispatcher.close().catch(() => undefined);
  }
});

test('a 407 after more streamed body than bodyReplayLimit: RequestBodyReplayError naming the limit, never an empty "fetch failed"', async () => {
  const { cause } = await failureThrough(
    (_h, socket) => socket.write('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n'),
    {
      bodyReplayLimit: 4,
      body: async function* () {
        yield Buffer.from('streamed');
      },
    },
  );
  assert.ok(cause instanceof RequestBodyReplayError);
  assert.equal(cause.code, 'ERR_JAATO_BODY_REPLAY_LIMIT');
  assert.equal(cause.limit, 4);
  assert.match(cause.message, /after more than 4 bytes of its streamed body had been sent.*\(bodyReplayLimit: 4\)/);
});

test('a 407 to a streamed body with nothing to answer it: the 407 policy says why (Kerberos off)', async () => {
  const { cause } = await failureThrough(
    (_h, socket) => socket.write('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n'),
    {
      kerberos: false,
      body: async function* () {
        yield Buffer.from('streamed');
      },
    },
  );
  assert.ok(cause instanceof ProxyAuthenticationError);
  assert.match(cause.message, /set JAATO_KERBEROS_PROXY=true/);
});

test('407 then close on the forwarded path: answered on a new connection with a fresh token', async () => {
  let n = 0;
  const p = await scriptedProxy((head, socket) => {
    n++;
    if (n === 1) socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.write(/\r\nproxy-authorization: Negotiate \S+/i.test(head) ? OK : 'HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n');
  });
  const f = createFetch({ proxy: p.url, kerberos: true, env: {} });
  try {
    const res = await f('http://origin.test/');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
    assert.equal(p.connections(), 2);
    const tokens = p.heads.map((h) => /proxy-authorization: Negotiate (\S+)/i.exec(h)?.[1]);
    assert.equal(tokens.length, 2);
    assert.notEqual(tokens[0], tokens[1], 'never the same token twice');
  } finally {
    await f.dispatcher.close();
    await p.close();
  }
});

test('a tunnel that opens and then carries nothing: the TLS handshake with the origin is bounded too', async () => {
  const p = await scriptedProxy((_h, socket) => socket.write('HTTP/1.1 200 Connection established\r\n\r\n'));
  const f = createFetch({ proxy: p.url, kerberos: true, env: {}, connectTimeout: 600 });
  const started = Date.now();
  try {
    const error = await f('https://origin.test/').then(() => undefined, (e: unknown) => unwrapError(e));
    assert.ok(error instanceof ProxyTimeoutError, String(error));
    assert.equal(error.phase, 'tls');
    assert.match(error.message, /TLS handshake with origin\.test:443 through proxy/);
    assert.ok(Date.now() - started < 5000);
  } finally {
    await f.dispatcher.close().catch(() => undefined);
    await p.close();
  }
});

test('node agents: a silent forwarding proxy and a silent tunnel end in ProxyTimeoutError, as with fetch', async () => {
  const silent = await scriptedProxy(() => undefined);
  const tunnel = await scriptedProxy((_h, socket) => socket.write('HTTP/1.1 200 Connection established\r\n\r\n'));
  const errorOf = (send: typeof httpRequest, url: string, agent: import('node:http').Agent): Promise<unknown> =>
    new Promise((resolve) => {
      const req = send(url, { agent }, (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', resolve);
      req.end();
    });
  const viaSilent = createAgents({ proxy: silent.url, kerberos: true, env: {}, headersTimeout: 600 });
  const viaTunnel = createAgents({ proxy: tunnel.url, kerberos: true, env: {}, connectTimeout: 600 });
  const started = Date.now();
  try {
    const forwarded = await errorOf(httpRequest, 'http://origin.test/secret?key=SECRET', viaSilent.http);
    assert.ok(forwarded instanceof ProxyTimeoutError, String(forwarded));
    assert.equal(forwarded.phase, 'response');
    assert.match(forwarded.message, /^Timed out after 600 ms waiting for the answer to GET http:\/\/origin\.test from proxy/);
    const tls = await errorOf(httpsRequest, 'https://origin.test/', viaTunnel.https);
    assert.ok(tls instanceof ProxyTimeoutError, String(tls));
    assert.equal(tls.phase, 'tls');
    assert.ok(Date.now() - started < 8000);
  } finally {
    for (const a of [viaSilent, viaTunnel]) {
      a.http.destroy();
      a.https.destroy();
    }
    await silent.close();
    await tunnel.close();
  }
});

test('node agents: a forwarded request whose proxy connection breaks fails with ProxyConnectionError naming the proxy', async () => {
  const replies: Reply[] = [
    (_h, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart');
      setTimeout(() => socket.destroy(), 20);
    },
    (_h, socket) => socket.end('HELLO THERE\r\n\r\n'),
    (_h, socket) => socket.destroy(),
  ];
  for (const reply of replies) {
    const p = await scriptedProxy(reply);
    const agents = createAgents({ proxy: p.url, kerberos: true, env: {} });
    try {
      const outcome = await new Promise<unknown>((resolve) => {
        const req = httpRequest('http://origin.test/secret?key=SECRET', { agent: agents.http }, (res) => {
          res.on('error', resolve);
          res.on('aborted', () => resolve('aborted'));
          res.resume();
          res.on('end', () => resolve(`answered ${res.statusCode}`));
        });
        req.on('error', resolve);
        req.end();
      });
      // A body cut short is the response's own 'aborted'/'error' in node:http; every other break is ours.
      if (outcome === 'aborted') continue;
      assert.ok(outcome instanceof ProxyConnectionError, String(outcome));
      assert.ok(outcome.message.includes(`proxy ${p.url}/ (from options.proxy) failed during GET http://origin.test`), outcome.message);
      assert.doesNotMatch(outcome.message, /SECRET/);
    } finally {
      agents.http.destroy();
      await p.close();
    }
  }
});
