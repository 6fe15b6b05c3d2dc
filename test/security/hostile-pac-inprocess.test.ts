/**
 * The shapes of hostile-pac.test.ts that ended the process with an unhandled rejection, run here in
 * the test's own process with a listener counting unhandled rejections (issue 24): zero, and the
 * typed error, every time. (The child-process runs there show the process survives Node's default mode.)
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PacEvaluationError } from '../../src/pac/errors.js';
import { CompiledPac } from '../../src/pac/pac-sandbox.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => process.off('unhandledRejection', onUnhandled));

const limits = { callTimeoutMs: 1000, loadTimeoutMs: 5000, memoryBytes: 32 * 1024 * 1024 };

async function timesOut(pac: CompiledPac): Promise<void> {
  const error = await pac.findProxy('http://victim.test/', 'victim.test').then(
    (v) => assert.fail(`answered ${String(v)}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PacEvaluationError, String(error));
  assert.equal(error.failure, 'timeout', error.message);
}

async function noUnhandled(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(unhandled.map(String), []);
}

test('in process: dnsResolve 200,000 times past the limit: a typed timeout three times, no unhandled rejection, the loop held no longer than the bound', async () => {
  const pac = await CompiledPac.compile('http://pac.test/proxy.pac', "function FindProxyForURL(url, host) { if (host === 'ok') return 'DIRECT'; for (var i = 0; i < 200000; i++) dnsResolve('127.0.0.1'); return 'DIRECT'; }", limits);
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    for (let i = 0; i < 3; i++) await timesOut(pac);
    assert.equal(await pac.findProxy('http://ok/', 'ok'), 'DIRECT', 'the PAC answers again');
  } finally {
    histogram.disable();
    pac.dispose();
  }
  assert.ok(histogram.max / 1e6 < limits.callTimeoutMs + 1500, `event loop held ${Math.round(histogram.max / 1e6)} ms`);
  await noUnhandled();
});

test('in process: a DNS answer landing after the deadline before any timer could run: a typed timeout, no unhandled rejection', async (t) => {
  let callStarted = 0;
  // t.mock.method takes any function for one with overloads (dns.lookup's), where an assignment would need a cast.
  const lookup = t.mock.method(dns, 'lookup', (host: string, options: unknown, callback?: (e: Error | null, a?: string, f?: number) => void) => {
    const cb = (typeof options === 'function' ? options : callback) as (e: Error | null, a?: string, f?: number) => void;
    // Holds the loop until 50 ms past the deadline, so the answer comes before the guard timer.
    setImmediate(() => {
      while (Date.now() < callStarted + limits.callTimeoutMs + 50);
      cb(null, '127.0.0.1', 4);
    });
  });
  syncBuiltinESMExports();
  t.after(() => {
    lookup.mock.restore();
    syncBuiltinESMExports();
  });
  const pac = await CompiledPac.compile('http://pac.test/proxy.pac', "function FindProxyForURL(url, host) { var a = dnsResolve('slow.test'); for (var i = 0; i < 5000000; i++) {} return 'PROXY ' + a + ':1'; }", limits);
  try {
    for (let i = 0; i < 2; i++) {
      callStarted = Date.now();
      await timesOut(pac);
    }
  } finally {
    pac.dispose();
  }
  await noUnhandled();
});
