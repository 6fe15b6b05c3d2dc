import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionFailure, decideRetry, RETRY_BUDGET, RETRY_DELAYS } from '../../src/transport/retry-decision.js';
import { ProxyConnectionError, ProxyTimeoutError, ProxyTunnelError, ProxyAuthenticationError } from '../../src/transport/errors.js';
import { parseProxyUrl } from '../../src/config/proxy-url.js';

const proxy = parseProxyUrl('http://user:secret@proxy.test:3128', 'HTTPS_PROXY');
const coded = (code: string, message = code): Error => Object.assign(new Error(message), { code });
const refused = new ProxyConnectionError(proxy, 'ECONNREFUSED', coded('ECONNREFUSED'));
const reset = new ProxyConnectionError(proxy, 'ECONNRESET', coded('ECONNRESET'), 'GET http://a');
const otherSide = new ProxyConnectionError(proxy, 'UND_ERR_SOCKET: other side closed', coded('UND_ERR_SOCKET', 'other side closed'), 'GET http://a');
const tunnelClosed = new ProxyTunnelError(proxy, 'a:443', 'the connection closed before the answer');
const tunnel502 = new ProxyTunnelError(proxy, 'a:443', 'the proxy answered 502 Bad Gateway', 502);
const timeout = new ProxyTimeoutError(proxy, 'connecting to', 10_000, 'connect', coded('ETIMEDOUT'));
const auth = new ProxyAuthenticationError(proxy, ['negotiate'], 'KDC down', coded('ECONNREFUSED'));
const aborted = Object.assign(new Error('aborted'), { name: 'AbortError' });

test('connectionFailure: the kinds of failure, found along the cause chain', () => {
  const rows: Array<[unknown, string | undefined]> = [
    [refused, 'refused'],
    [coded('ECONNREFUSED'), 'refused'],
    [reset, 'closed'],
    [otherSide, 'closed'],
    [coded('EPIPE'), 'closed'],
    // A reset while connecting (Squid killed as it accepted: "connect ECONNRESET") opened nothing.
    [Object.assign(coded('ECONNRESET'), { syscall: 'connect' }), 'refused'],
    [new ProxyConnectionError(proxy, 'ECONNRESET', Object.assign(coded('ECONNRESET'), { syscall: 'connect' })), 'refused'],
    [Object.assign(coded('ECONNRESET'), { syscall: 'read' }), 'closed'],
    [new TypeError('fetch failed', { cause: reset }), 'closed'],
    [tunnelClosed, 'tunnel-closed'],
    [tunnel502, undefined],
    [timeout, undefined],
    [coded('UND_ERR_HEADERS_TIMEOUT'), undefined],
    [auth, undefined], // a Kerberos/auth failure is final, whatever its cause says
    [aborted, undefined],
    [coded('UND_ERR_ABORTED'), undefined],
    [new Error('certificate has expired'), undefined],
    ['not an error', undefined],
  ];
  for (const [error, kind] of rows) assert.equal(connectionFailure(error), kind, String(error));
});

test('decideRetry: idempotent methods on any connection failure; others only when nothing was sent', () => {
  type Row = [method: string, replayable: boolean, error: unknown, started: boolean, attempt: number, sinceFirstFailure: number, retry: boolean, reason: string];
  const rows: Row[] = [
    ['GET', true, refused, false, 1, 0, true, 'refused'],
    ['GET', true, reset, false, 1, 0, true, 'closed'],
    ['HEAD', true, otherSide, false, 1, 0, true, 'closed'],
    ['OPTIONS', true, reset, false, 1, 0, true, 'closed'],
    ['PUT', true, reset, false, 1, 0, true, 'closed'],
    ['DELETE', true, reset, false, 1, 0, true, 'closed'],
    ['TRACE', true, reset, false, 1, 0, true, 'closed'],
    ['get', true, reset, false, 1, 0, true, 'closed'],
    ['GET', true, tunnelClosed, false, 1, 0, true, 'tunnel-closed'],
    // A POST whose bytes may have reached the proxy is never resent ...
    ['POST', true, reset, false, 1, 0, false, 'not-idempotent'],
    ['POST', true, otherSide, false, 1, 0, false, 'not-idempotent'],
    ['PATCH', true, reset, false, 1, 0, false, 'not-idempotent'],
    // ... but one refused (nothing sent) or before the tunnel existed goes again.
    ['POST', true, refused, false, 1, 0, true, 'refused'],
    ['POST', true, tunnelClosed, false, 1, 0, true, 'tunnel-closed'],
    // serve's CONNECT during a Squid restart: the dial reset as Squid was killed is waited out, as a refusal.
    ['CONNECT', true, new ProxyConnectionError(proxy, 'ECONNRESET', Object.assign(coded('ECONNRESET'), { syscall: 'connect' })), false, 1, 0, true, 'refused'],
    ['CONNECT', true, reset, false, 1, 0, false, 'not-idempotent'],
    ['POST', false, refused, false, 1, 0, false, 'body-not-replayable'],
    ['PUT', false, reset, false, 1, 0, false, 'body-not-replayable'],
    // Once the answer began, nothing is retried.
    ['GET', true, reset, true, 1, 0, false, 'response-started'],
    ['GET', true, timeout, false, 1, 0, false, 'not-a-connection-failure'],
    ['GET', true, tunnel502, false, 1, 0, false, 'not-a-connection-failure'],
    ['GET', true, auth, false, 1, 0, false, 'not-a-connection-failure'],
    ['GET', true, aborted, false, 1, 0, false, 'not-a-connection-failure'],
    // The bounds: attempts, then time.
    ['GET', true, refused, false, RETRY_DELAYS.length, 0, true, 'refused'],
    ['GET', true, refused, false, RETRY_DELAYS.length + 1, 0, false, 'attempts'],
    ['GET', true, refused, false, 2, RETRY_BUDGET - 10, false, 'budget'],
    // The time is counted from the first failure: a GET that waited 3.5 s for a connection and a token,
    // then was cut as Apache closed the kept-alive connection under it, goes again (0 ms since that
    // cut), and so does its second cut after a retry that waited 2.9 s for its token (the soak's
    // second case); a cut near the end of the budget is not.
    ['GET', true, otherSide, false, 1, 0, true, 'closed'],
    ['GET', true, otherSide, false, 2, 2911, true, 'closed'],
    ['GET', true, otherSide, false, 3, RETRY_BUDGET - 100, false, 'budget'],
  ];
  for (const [method, replayable, error, started, attempt, elapsed, retry, reason] of rows) {
    const d = decideRetry(method, replayable, error, started, attempt, elapsed);
    assert.deepEqual([d.retry, d.reason], [retry, reason], `${method} replayable=${replayable} ${String(error)} started=${started} attempt=${attempt} elapsed=${elapsed}`);
  }
});

test('decideRetry: the waits grow, jitter stretches each by at most a quarter, and the total fits the budget', () => {
  const waits = RETRY_DELAYS.map((_, i) => decideRetry('GET', true, refused, false, i + 1, 0));
  assert.deepEqual(waits.map((d) => (d.retry ? d.delay : -1)), [...RETRY_DELAYS]);
  const stretched = RETRY_DELAYS.map((base, i) => {
    const d = decideRetry('GET', true, refused, false, i + 1, 0, 0.999);
    assert.ok(d.retry);
    assert.ok(d.delay >= base && d.delay <= base * 1.25, `${d.delay} for ${base}`);
    return d.delay;
  });
  assert.ok(stretched.reduce((a, b) => a + b, 0) < RETRY_BUDGET, 'every wait fits in the budget');
});
