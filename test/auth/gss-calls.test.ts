import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GssCallLimiter } from '../../src/auth/gss-calls.js';

/** A stand-in for a native call: settles only when told to. */
function hold(): { promise: Promise<string>; resolve: (v: string) => void; reject: (e: Error) => void } {
  let resolve!: (v: string) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<string>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

class Timeout extends Error {}
const timedOut = (): Error => new Timeout('timed out');
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('at most max calls run; the others wait, first come first served', async () => {
  const limiter = new GssCallLimiter(2);
  const calls = [hold(), hold(), hold(), hold()];
  const started: number[] = [];
  const results = calls.map((c, i) => limiter.run(() => (started.push(i), c.promise), { timeout: 60_000, onTimeout: timedOut }));
  assert.deepEqual([limiter.running, limiter.waiting, started], [2, 2, [0, 1]]);
  calls[1]?.resolve('b');
  assert.equal(await results[1], 'b');
  await tick();
  assert.deepEqual([limiter.running, limiter.waiting, started], [2, 1, [0, 1, 2]]);
  for (const c of calls) c.resolve('x');
  assert.deepEqual(await Promise.all(results), ['x', 'b', 'x', 'x']);
  await tick();
  assert.deepEqual([limiter.running, limiter.waiting], [0, 0]);
});

test('the deadline ends every wait, running or queued; a timed-out call keeps its slot until it really ends', async () => {
  const limiter = new GssCallLimiter(2);
  const calls = [hold(), hold(), hold()];
  let thirdStarted = false;
  const seen: Array<() => boolean> = [];
  const started = performance.now();
  const results = [
    limiter.run((abandoned) => (seen.push(abandoned), calls[0]!.promise), { timeout: 100, onTimeout: timedOut }),
    limiter.run((abandoned) => (seen.push(abandoned), calls[1]!.promise), { timeout: 100, onTimeout: timedOut }),
    limiter.run(() => ((thirdStarted = true), calls[2]!.promise), { timeout: 100, onTimeout: timedOut }),
  ].map((p) => p.then(() => 'resolved', (e: unknown) => e));
  const outcomes = await Promise.all(results);
  const elapsed = performance.now() - started;
  for (const o of outcomes) assert.ok(o instanceof Timeout, String(o));
  assert.ok(elapsed >= 95 && elapsed < 1000, `all three ended at the deadline (${elapsed} ms)`);
  assert.equal(thirdStarted, false, 'a caller that gave up in the queue never starts its native call');
  assert.deepEqual(seen.map((a) => a()), [true, true], 'the running work is told it is abandoned');
  // The two native calls are still running: their slots stay taken, so new work waits.
  assert.deepEqual([limiter.running, limiter.waiting], [2, 0]);
  const next = hold();
  const later = limiter.run(() => next.promise, { timeout: 60_000, onTimeout: timedOut });
  assert.equal(limiter.waiting, 1);
  calls[0]?.reject(new Error('Cannot contact any KDC')); // the library gives up at last
  await tick();
  assert.deepEqual([limiter.running, limiter.waiting], [2, 0], 'the freed slot went to the waiting caller');
  next.resolve('token');
  assert.equal(await later, 'token');
  calls[1]?.resolve('late');
  await tick();
  assert.equal(limiter.running, 0);
});

test('an abort ends the wait at once with its reason, queued or running; an aborted signal starts nothing', async () => {
  const limiter = new GssCallLimiter(1);
  const running = hold();
  const a = new AbortController();
  const first = limiter.run(() => running.promise, { timeout: 60_000, onTimeout: timedOut, signal: a.signal });
  const b = new AbortController();
  let queuedStarted = false;
  const queued = limiter.run(() => ((queuedStarted = true), hold().promise), { timeout: 60_000, onTimeout: timedOut, signal: b.signal });
  assert.equal(limiter.waiting, 1);
  const reason = new Error('caller gave up');
  let t = performance.now();
  b.abort(reason);
  await assert.rejects(queued, (e) => e === reason);
  assert.ok(performance.now() - t < 5000, 'queued: at once, not at the 60 s bound');
  assert.equal(limiter.waiting, 0, 'removed from the queue');
  t = performance.now();
  a.abort();
  await assert.rejects(first, (e: unknown) => e instanceof DOMException && e.name === 'AbortError');
  assert.ok(performance.now() - t < 5000, 'running: at once, not at the 60 s bound');
  assert.equal(limiter.running, 1, 'the aborted native call still holds its slot');
  let started = false;
  await assert.rejects(limiter.run(async () => ((started = true), 'x'), { timeout: 60_000, onTimeout: timedOut, signal: a.signal }), (e: unknown) => e instanceof DOMException);
  assert.equal(started, false);
  running.resolve('late');
  await tick();
  assert.deepEqual([limiter.running, queuedStarted], [0, false]);
});

test('errors from the work reach the caller; a synchronous throw frees the slot too', async () => {
  const limiter = new GssCallLimiter(1);
  await assert.rejects(limiter.run(() => Promise.reject(new Error('native')), { timeout: 1000, onTimeout: timedOut }), /native/);
  await assert.rejects(
    limiter.run(() => {
      throw new Error('sync');
    }, { timeout: 1000, onTimeout: timedOut }),
    /sync/,
  );
  await tick();
  assert.equal(limiter.running, 0);
  assert.throws(() => new GssCallLimiter(0), RangeError);
});
