// The count of native calls a thread has on libuv's pool, which the safety net's thread waits on
// before it ends (pool-calls.ts). A stand-in for a koffi function: its `async` calls back when told.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onPoolThread, poolCallsSettled } from '../../../src/auth/native/pool-calls.js';

function heldCall(): { fn: { async: (...args: unknown[]) => void }; finish: (error?: Error) => void; args: unknown[] } {
  let callback: ((error: unknown, result: number) => void) | undefined;
  const args: unknown[] = [];
  return {
    args,
    fn: { async: (...all: unknown[]) => {
      args.push(...all.slice(0, -1));
      callback = all.at(-1) as (error: unknown, result: number) => void;
    } },
    finish: (error) => callback?.(error ?? null, 7),
  };
}

test('poolCallsSettled: at once when nothing runs; after the last running call returns, not before', async () => {
  assert.equal(await poolCallsSettled(1000), true);
  const a = heldCall();
  const b = heldCall();
  const first = onPoolThread(a.fn, 1, 'x');
  const second = onPoolThread(b.fn);
  assert.deepEqual(a.args, [1, 'x']);
  let settled: boolean | undefined;
  const waiting = poolCallsSettled(60_000).then((v) => (settled = v));
  a.finish();
  assert.equal(await first, 7);
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, undefined, 'one call still runs');
  b.finish(new Error('failed in the library'));
  await assert.rejects(second, /failed in the library/);
  assert.equal(await waiting, true);
});

test('poolCallsSettled: false after its bound when a call never returns, and the call still counts', async () => {
  const stuck = heldCall();
  const call = onPoolThread(stuck.fn);
  assert.equal(await poolCallsSettled(50), false);
  stuck.finish();
  await call;
  assert.equal(await poolCallsSettled(50), true);
});
