/**
 * Runs one hostile PAC in a process of its own, for test/security/hostile-pac*.test.ts: a PAC that
 * crashed or froze the process would take the test runner with it. Node's default unhandled-rejection
 * mode (throw) is kept, so a rejection nobody handles ends this process with a non-zero code. Prints
 * one JSON line per call: the answer (and how many entries routing read from it) or the typed error, the call's time, the worst event-loop delay
 * seen during it, the RSS after it. Not a test file itself (no `.test.` in its name).
 *
 * argv[2]: JSON { text, limits?, calls?, slowDnsAt? }. `slowDnsAt`: DNS lookups answer only once
 * this many ms have passed since the call began, with the event loop held until then, so the answer
 * lands past the deadline before any timer can run (an honest but slow DNS server at the worst moment).
 */
import dns from 'node:dns';
import { mock } from 'node:test';
import { syncBuiltinESMExports } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parsePacAnswer } from '../../src/pac/pac-answer.js';
import { CompiledPac } from '../../src/pac/pac-sandbox.js';

interface Job {
  text: string;
  limits?: { callTimeoutMs: number; loadTimeoutMs: number; memoryBytes: number };
  calls?: number;
  slowDnsAt?: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
let callStarted = 0;
if (job.slowDnsAt !== undefined) {
  const at = job.slowDnsAt;
  // mock.method takes any function for one with overloads (dns.lookup's), where an assignment would need a cast.
  mock.method(dns, 'lookup', (host: string, options: unknown, callback: (e: Error | null, a?: string, f?: number) => void) => {
    const cb = typeof options === 'function' ? (options as typeof callback) : callback;
    setImmediate(() => {
      while (Date.now() < callStarted + at);
      cb(null, '127.0.0.1', 4);
    });
  });
  // pac-resolver imports `lookup` from 'dns' by name: this makes the named export follow.
  syncBuiltinESMExports();
}

const histogram = monitorEventLoopDelay({ resolution: 10 });
const limits = job.limits ?? { callTimeoutMs: 1000, loadTimeoutMs: 5000, memoryBytes: 32 * 1024 * 1024 };
let pac: CompiledPac | undefined;
histogram.enable();
const loadStarted = Date.now();
const load: Record<string, unknown> = {};
try {
  pac = await CompiledPac.compile('http://pac.test/proxy.pac', job.text, limits);
} catch (error) {
  const e = error as { code?: string; failure?: string; message?: string };
  Object.assign(load, { code: e.code, failure: e.failure, message: e.message });
}
histogram.disable();
console.log(JSON.stringify({ phase: 'load', ...load, ms: Date.now() - loadStarted, maxDelayMs: Math.round(histogram.max / 1e6) }));
for (let i = 0; pac && i < (job.calls ?? 1); i++) {
  histogram.reset();
  histogram.enable();
  callStarted = Date.now();
  const out: Record<string, unknown> = {};
  try {
    const answer = await pac.findProxy('http://victim.test/', 'victim.test');
    out.answer = typeof answer === 'string' && answer.length > 200 ? { length: answer.length, start: answer.slice(0, 100) } : answer;
    // What routing makes of it (the next step after the PAC, in the same process).
    const parsed = parsePacAnswer(answer);
    if (parsed) out.parsed = { entries: parsed.entries.length, skipped: parsed.skipped.length, truncated: parsed.truncated };
  } catch (error) {
    const e = error as { code?: string; failure?: string; message?: string };
    Object.assign(out, { code: e.code, failure: e.failure, message: e.message });
  }
  histogram.disable();
  console.log(JSON.stringify({ phase: 'call', ...out, ms: Date.now() - callStarted, maxDelayMs: Math.round(histogram.max / 1e6), rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) }));
}
pac?.dispose();
console.log(JSON.stringify({ phase: 'end' }));
