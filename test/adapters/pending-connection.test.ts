import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Duplex, PassThrough } from 'node:stream';
import { test } from 'node:test';
import { PendingConnection } from '../../src/adapters/node/pending-connection.js';

// node:http arms and clears a socket's timeout with the same callback on every request of a kept-alive
// connection (setTimeout(ms, cb), then setTimeout(0, cb)): the connection must end with as many
// 'timeout' listeners as a net.Socket would, not one more per request.
test("setTimeout(0, cb) removes cb as net.Socket's does: no 'timeout' listener gathers per request", async () => {
  const pending = new PendingConnection(async () => new PassThrough());
  const socket = new Socket();
  const before = pending.listenerCount('timeout');
  for (let i = 0; i < 50; i++) {
    const onTimeout = (): void => {};
    pending.setTimeout(5_000, onTimeout);
    pending.setTimeout(0, onTimeout);
    socket.setTimeout(5_000, onTimeout);
    socket.setTimeout(0, onTimeout);
  }
  assert.equal(pending.listenerCount('timeout') - before, socket.listenerCount('timeout'));
  assert.equal(pending.listenerCount('timeout') - before, 0);
  const kept = (): void => {};
  pending.setTimeout(5_000, kept);
  assert.equal(pending.listenerCount('timeout') - before, 1, 'a timeout still armed keeps its callback');
  pending.destroy();
  socket.destroy();
});

/** A connection underneath, scripted: what was written to it, and its answer, end or failure on demand. */
class FakeInner extends Duplex {
  written = '';
  timeouts: number[] = [];
  constructor() {
    super({ allowHalfOpen: false });
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.written += chunk.toString('latin1');
    cb();
  }
  override _read(): void {}
  setTimeout(ms: number): void {
    this.timeouts.push(ms);
  }
  /** The proxy closed it (FIN), or reset it. */
  cut(how: 'fin' | 'reset'): void {
    if (how === 'fin') {
      this.push(null);
      this.destroy();
    } else this.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
  }
}

/** A PendingConnection over FakeInners, one per open, with the retries it published. */
function scripted(resendVia: string | undefined, failure?: (e: Error) => Error) {
  const inners: FakeInner[] = [];
  const clocks: unknown[] = [];
  const retries: unknown[] = [];
  const listener = (m: unknown): void => void retries.push(m);
  subscribe('jaato-proxy:retry', listener);
  const pending: PendingConnection = new PendingConnection(async (_signal, clock) => {
    await Promise.resolve(); // as a real opener, which dials first: \`pending\` exists by then
    clocks.push(clock && { ...clock });
    const inner = new FakeInner();
    inners.push(inner);
    pending.resendVia = resendVia;
    pending.failure = failure;
    return inner;
  });
  let connects = 0;
  pending.on('connect', () => connects++);
  const errors: Error[] = [];
  pending.on('error', (e) => errors.push(e));
  let read = '';
  pending.on('data', (d: Buffer) => (read += d.toString('latin1')));
  return {
    pending, inners, clocks, retries, errors,
    read: () => read,
    connects: () => connects,
    done: () => unsubscribe('jaato-proxy:retry', listener),
  };
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `never: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const typed = (e: Error): Error => Object.assign(new Error(`typed: ${e.message}`), { cause: e });

test('a GET cut before any byte of its answer is written again on a new connection; node:http sees only the answer', async () => {
  const s = scripted('http://proxy.test:3128/', typed);
  s.pending.setTimeout(5000);
  await until(() => s.inners.length === 1 && s.connects() === 1, 'the first connection');
  s.pending.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
  await until(() => s.inners[0]?.written === 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n', 'the request on the first connection');
  s.inners[0]?.cut('fin');
  await until(() => s.inners.length === 2, 'a second connection');
  await until(() => s.inners[1]?.written === 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n', 'the request written again, whole');
  assert.deepEqual(s.clocks[1] !== undefined && (s.clocks[1] as { attempts: number }).attempts, 1, 'the reopening counts the cut attempt');
  s.inners[1]?.push('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  await until(() => s.read().endsWith('ok'), 'the answer read through');
  assert.deepEqual(s.inners[1]?.timeouts, [5000], 'the idle timeout set on the new connection too');
  assert.deepEqual(s.retries, [{ method: 'GET', proxy: 'http://proxy.test:3128/', attempt: 2, reason: 'closed', delay: (s.retries[0] as { delay: number }).delay }]);
  assert.deepEqual({ errors: s.errors.length, connects: s.connects() }, { errors: 0, connects: 1 });
  s.done();
  s.pending.destroy();
});

test('what node:http writes while the new connection opens follows the replay, once', async () => {
  const s = scripted('http://proxy.test:3128/');
  s.pending.write('PUT /a HTTP/1.1\r\nContent-Length: 8\r\n\r\n');
  await until(() => s.inners[0]?.written.length === 38, 'the head on the first connection');
  s.inners[0]?.cut('reset');
  s.pending.write('body');
  await until(() => s.inners.length === 2, 'a second connection');
  s.pending.write('more');
  await until(() => s.inners[1]?.written.length === 46, 'head and body on the second');
  assert.equal(s.inners[1]?.written, 'PUT /a HTTP/1.1\r\nContent-Length: 8\r\n\r\nbodymore');
  assert.equal(s.errors.length, 0);
  s.done();
  s.pending.destroy();
});

test('not written again: a POST, an answer begun, a DIRECT route; each fails as before', async () => {
  const cases: Array<[string, string | undefined, string, string, 'fin' | 'reset', RegExp]> = [
    ['POST', 'http://p/', 'POST /a HTTP/1.1\r\nContent-Length: 1\r\n\r\nx', '', 'fin', /typed: the tunnel closed before the answer/],
    ['an answer begun', 'http://p/', 'GET /a HTTP/1.1\r\n\r\n', 'HTTP/1.1 2', 'fin', /typed: the tunnel closed in the middle of the answer/],
    ['an answer begun, reset', 'http://p/', 'GET /a HTTP/1.1\r\n\r\n', 'HTTP/1.1 2', 'reset', /typed: read ECONNRESET/],
    ['in the middle of a framed answer', 'http://p/', 'GET /a HTTP/1.1\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab', 'fin', /typed: the tunnel closed in the middle of the answer/],
    ['DIRECT', undefined, 'GET /a HTTP/1.1\r\n\r\n', '', 'reset', /typed: read ECONNRESET/],
  ];
  for (const [name, via, request, answer, how, error] of cases) {
    const s = scripted(via, typed);
    s.pending.write(request);
    await until(() => s.inners[0]?.written === request, `${name}: the request`);
    if (answer) {
      s.inners[0]?.push(answer);
      await until(() => s.read() === answer, `${name}: the answer's start read`);
    }
    s.inners[0]?.cut(how);
    await until(() => s.errors.length > 0, `${name}: the failure`);
    assert.match(s.errors[0]?.message ?? '', error, name);
    assert.deepEqual({ opens: s.inners.length, retries: s.retries.length }, { opens: 1, retries: 0 }, name);
    s.done();
  }
});

test('a kept-alive connection the proxy closes while idle ends as before, and is not reopened', async () => {
  const s = scripted('http://p/', typed);
  s.pending.write('GET /a HTTP/1.1\r\n\r\n');
  await until(() => s.inners[0]?.written.length === 19, 'the request');
  s.inners[0]?.push('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  await until(() => s.read().endsWith('ok'), 'the answer');
  let ended = false;
  s.pending.on('end', () => (ended = true));
  s.inners[0]?.cut('fin');
  await until(() => ended && s.pending.destroyed, 'the end');
  assert.deepEqual({ errors: s.errors.length, opens: s.inners.length }, { errors: 0, opens: 1 });
  s.done();
});
