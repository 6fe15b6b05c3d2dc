// The pure part of sending a node:http request again when the proxy connection under it dies
// (request-record.ts): where a request begins and ends from the bytes alone, and when it goes again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideResend, RequestRecord, type Breakage, type InFlight } from '../../src/adapters/node/request-record.js';
import { ProxyConnectionError, ProxyTimeoutError } from '../../src/transport/errors.js';
import { RETRY_BUDGET } from '../../src/transport/retry-decision.js';
import { parseProxyUrl } from '../../src/config/proxy-url.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
type Step = ['w' | 'r', string];

test('RequestRecord: a request begins with a write while none is in progress and ends at its final status line', () => {
  // Each row: the bytes written (w) and read (r) in order, then what is in progress after them.
  const rows: Array<[string, Step[], { method: string | undefined; answered: boolean; replay: string } | undefined]> = [
    ['a head written', [['w', 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n']], { method: 'GET', answered: false, replay: 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n' }],
    ['head and body in pieces', [['w', 'PUT /a HTTP/1.1\r\n\r\n'], ['w', 'body']], { method: 'PUT', answered: false, replay: 'PUT /a HTTP/1.1\r\n\r\nbody' }],
    ['a final answer ends it', [['w', 'GET / HTTP/1.1\r\n\r\n'], ['r', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok']], undefined],
    ['a status line split over reads', [['w', 'GET / HTTP/1.1\r\n\r\n'], ['r', 'HTTP/1.1 2'], ['r', '04 No Content\r\n\r\n']], undefined],
    ['a partial status line: answered, still in progress', [['w', 'GET / HTTP/1.1\r\n\r\n'], ['r', 'HTTP/1.1 2']], { method: 'GET', answered: true, replay: 'GET / HTTP/1.1\r\n\r\n' }],
    ['100 Continue: the body after it is the same request', [['w', 'PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n'], ['r', 'HTTP/1.1 100 Continue\r\n\r\n'], ['w', 'body']], { method: 'PUT', answered: true, replay: 'PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\nbody' }],
    ['100 then the final answer in one read', [['w', 'PUT / HTTP/1.1\r\n\r\n'], ['r', 'HTTP/1.1 100 Continue\r\nX: y\r\n\r\nHTTP/1.1 201 Created\r\n\r\n']], undefined],
    ['101 is final: the connection carries something else', [['w', 'GET / HTTP/1.1\r\nUpgrade: x\r\n\r\n'], ['r', 'HTTP/1.1 101 Switching Protocols\r\n\r\n']], undefined],
    ['after a 101 nothing more is recorded', [['w', 'GET / HTTP/1.1\r\nUpgrade: x\r\n\r\n'], ['r', 'HTTP/1.1 101 Switching Protocols\r\n\r\n'], ['w', 'GET frames']], undefined],
    ['nor after a 2xx to CONNECT', [['w', 'CONNECT a:443 HTTP/1.1\r\n\r\n'], ['r', 'HTTP/1.1 200 Connection established\r\n\r\n'], ['w', 'GET / HTTP/1.1\r\n\r\n']], undefined],
    ['a 407 to CONNECT is an answer like any other', [['w', 'CONNECT a:443 HTTP/1.1\r\n\r\n'], ['r', 'HTTP/1.1 407 x\r\nContent-Length: 0\r\n\r\n'], ['w', 'CONNECT a:443 HTTP/1.1\r\n\r\n']], { method: 'CONNECT', answered: false, replay: 'CONNECT a:443 HTTP/1.1\r\n\r\n' }],
    ['the next request after an answer begins afresh', [['w', 'GET /1 HTTP/1.1\r\n\r\n'], ['r', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'], ['w', 'DELETE /2 HTTP/1.1\r\n\r\n']], { method: 'DELETE', answered: false, replay: 'DELETE /2 HTTP/1.1\r\n\r\n' }],
    ['body bytes of an answer are not scanned', [['w', 'GET /1 HTTP/1.1\r\n\r\n'], ['r', 'HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 100 x\r\n'], ['w', 'HEAD /2 HTTP/1.1\r\n\r\n']], { method: 'HEAD', answered: false, replay: 'HEAD /2 HTTP/1.1\r\n\r\n' }],
    ['bytes that are no request line: no method', [['w', 'garbage']], { method: undefined, answered: false, replay: 'garbage' }],
    ['bytes read while no request is in progress are nobody\'s', [['r', 'HTTP/1.1 408 x\r\n\r\n'], ['w', 'GET / HTTP/1.1\r\n\r\n']], { method: 'GET', answered: false, replay: 'GET / HTTP/1.1\r\n\r\n' }],
  ];
  for (const [name, steps, expected] of rows) {
    const record = new RequestRecord(1024);
    for (const [kind, bytes] of steps) kind === 'w' ? record.wrote(b(bytes), 0) : record.read(b(bytes));
    const current = record.current;
    if (expected === undefined) {
      assert.equal(current, undefined, name);
      continue;
    }
    assert.ok(current, name);
    assert.deepEqual({ method: current.method, answered: current.answered, replay: record.replay().toString('latin1') }, expected, name);
    assert.equal(current.held, true, name);
  }
});

test('RequestRecord: past the limit the bytes are dropped and the request is no longer held', () => {
  const record = new RequestRecord(32);
  record.wrote(b('PUT /a HTTP/1.1\r\n\r\n'), 5);
  assert.equal(record.current?.held, true);
  record.wrote(b('x'.repeat(20)), 6);
  assert.deepEqual({ held: record.current?.held, began: record.current?.began, replay: record.replay().length }, { held: false, began: 5, replay: 0 });
  record.read(b('HTTP/1.1 200 OK\r\n\r\n'));
  record.wrote(b('GET / HTTP/1.1\r\n\r\n'), 7);
  assert.deepEqual({ held: record.current?.held, began: record.current?.began }, { held: true, began: 7 }, 'the next request is held again');
});

test('decideResend: only an idempotent request, held whole, with no byte of its answer, after a connection failure', () => {
  const proxy = parseProxyUrl('http://user:secret@proxy.test:3128', 'HTTPS_PROXY');
  const coded = (code: string): Error => Object.assign(new Error(code), { code });
  const req = (method: string | undefined, over: Partial<InFlight> = {}): InFlight => ({ method, began: 0, held: true, answered: false, ...over });
  const closedMidway = new ProxyConnectionError(proxy, 'the proxy closed the connection in the middle of the exchange', undefined, 'GET http://a');
  const rows: Array<[string, InFlight | undefined, Breakage, number, number, boolean | string]> = [
    ['GET, connection closed', req('GET'), 'closed', 1, 0, true],
    ['GET, ECONNRESET', req('GET'), coded('ECONNRESET'), 1, 0, true],
    ['GET, EPIPE wrapped', req('GET'), new ProxyConnectionError(proxy, 'EPIPE', coded('EPIPE'), 'GET http://a'), 1, 0, true],
    ['GET, a forwarded connection closed in the middle', req('GET'), closedMidway, 1, 0, true],
    ['HEAD, PUT, DELETE, OPTIONS', req('DELETE'), 'closed', 1, 0, true],
    ['POST, closed', req('POST'), 'closed', 1, 0, 'not-idempotent'],
    ['POST, even refused', req('POST'), coded('ECONNREFUSED'), 1, 0, 'not-idempotent'],
    ['PATCH', req('PATCH'), 'closed', 1, 0, 'not-idempotent'],
    ['no request in progress', undefined, 'closed', 1, 0, 'no-request'],
    ['bytes that were no request', req(undefined), 'closed', 1, 0, 'unknown-method'],
    ['the answer had begun', req('GET', { answered: true }), 'closed', 1, 0, 'response-started'],
    ['not all bytes held', req('GET', { held: false }), 'closed', 1, 0, 'body-not-replayable'],
    ['a timeout', req('GET'), new ProxyTimeoutError(proxy, 'waiting for', 1000, 'response'), 1, 0, 'not-a-connection-failure'],
    ['a TLS error of the origin', req('GET'), coded('ERR_TLS_CERT_ALTNAME_INVALID'), 1, 0, 'not-a-connection-failure'],
    ['a ProxyConnectionError with another cause', req('GET'), new ProxyConnectionError(proxy, 'x', new Error('parse'), 'GET http://a'), 1, 0, 'not-a-connection-failure'],
    ['attempts spent', req('GET'), 'closed', 5, 0, 'attempts'],
    ['past the budget', req('GET'), 'closed', 2, RETRY_BUDGET - 10, 'budget'],
    // The soak's case: a GET whose first byte went 3.5 s ago (queued, then its token) cut as Apache
    // closed the kept-alive connection: the budget runs from this cut, so it goes again.
    ['GET, first cut long after its first byte', req('GET', { began: -3500 }), closedMidway, 1, 0, true],
  ];
  for (const [name, request, breakage, attempt, elapsed, expected] of rows) {
    const decision = decideResend(request, breakage, attempt, elapsed, 0);
    if (expected === true) assert.deepEqual(decision, { retry: true, reason: 'closed', delay: 50 }, name);
    else assert.deepEqual(decision, { retry: false, reason: expected }, name);
  }
});

test('RequestRecord: answering, while a final answer\'s head or framed body is still to come', () => {
  // Each row: the request written, the answer read in pieces, and whether the answer is still going on after each piece.
  const rows: Array<[string, string, string[], boolean[]]> = [
    ['Content-Length', 'GET', ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n', '\r\nab', 'cde'], [true, true, false]],
    ['chunked', 'GET', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', '0\r\n\r\n'], [true, false]],
    ['chunked wins over Content-Length', 'GET', ['HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc'], [true]],
    ['to the close: never in the middle', 'GET', ['HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc'], [false]],
    ['HEAD has no body', 'HEAD', ['HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n'], [false]],
    ['304 has no body', 'GET', ['HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n'], [false]],
    ['an interim answer, then the final head in pieces', 'PUT', ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 200 OK\r\n', 'Content-Length: 0\r\n\r\n'], [false, true, false]],
    ['101: the connection carries something else', 'GET', ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n'], [false]],
    ['no answer at all', 'GET', ['SSH-2.0\r\n'], [false]],
  ];
  for (const [name, method, pieces, expected] of rows) {
    const record = new RequestRecord(1024);
    record.wrote(b(`${method} / HTTP/1.1\r\n\r\n`), 0);
    assert.deepEqual(pieces.map((p) => (record.read(b(p)), record.answering)), expected, name);
  }
  const early = new RequestRecord(1024);
  early.wrote(b('PUT / HTTP/1.1\r\nContent-Length: 9\r\n\r\n'), 0);
  early.read(b('HTTP/1.1 413 Too Large\r\nContent-Length: 2\r\n\r\n'));
  early.wrote(b('more body'), 1);
  assert.equal(early.current, undefined, 'body written while an early answer is read starts no request');
  early.read(b('no'));
  early.wrote(b('GET / HTTP/1.1\r\n\r\n'), 2);
  assert.equal((early.current as InFlight | undefined)?.method, 'GET', 'the next request after it does');
});
