// A test reporter for scripts/test.mjs, beside the usual one: Node's reporters name a failing test but
// not its file, so a red CI line would not say where to look. This one prints, once the run is over,
// each file with a failing test and the tests that failed in it, or nothing when all passed; and the
// slowest files, so a file that creeps toward the per-file bound (--test-timeout) is seen before it
// fails on a loaded machine.
import { relative } from 'node:path';

export default async function* failingFiles(source) {
  /** file → names of the failing tests in it (not the suites that failed because a test in them did). */
  const failed = new Map();
  /** file → the sum of its top-level tests' durations (its hooks not counted: a floor of its time). */
  const spent = new Map();
  for await (const event of source) {
    if (event.type !== 'test:fail' && event.type !== 'test:pass') continue;
    const { file, name, details, nesting } = event.data;
    const where = file ? relative(process.cwd(), file) : '(no file)';
    if (nesting === 0) spent.set(where, (spent.get(where) ?? 0) + (details?.duration_ms ?? 0));
    if (event.type !== 'test:fail') continue;
    if (!failed.has(where)) failed.set(where, []);
    if (details?.error?.failureType !== 'subtestsFailed') failed.get(where).push(name);
  }
  const slowest = [...spent].sort(([, a], [, b]) => b - a).slice(0, 5);
  yield `\ntest: the slowest files (their tests' time, by the file that defines them): ${slowest.map(([f, ms]) => `${f} ${(ms / 1000).toFixed(0)} s`).join(', ')}\n`;
  if (failed.size === 0) return;
  yield `\ntest: ${failed.size} file(s) with failing tests:\n`;
  for (const [file, names] of [...failed].sort(([a], [b]) => a.localeCompare(b))) {
    yield `test:   ${file}\n`;
    for (const name of names) yield `test:     ✖ ${name}\n`;
  }
}
