// A test reporter for scripts/test.mjs, beside the usual one: Node's reporters name a failing test but
// not its file, so a red CI line would not say where to look. This one prints, once the run is over,
// each file with a failing test and the tests that failed in it, or nothing when all passed.
import { relative } from 'node:path';

export default async function* failingFiles(source) {
  /** file → names of the failing tests in it (not the suites that failed because a test in them did). */
  const failed = new Map();
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { file, name, details } = event.data;
    const where = file ? relative(process.cwd(), file) : '(no file)';
    if (!failed.has(where)) failed.set(where, []);
    if (details?.error?.failureType !== 'subtestsFailed') failed.get(where).push(name);
  }
  if (failed.size === 0) return;
  yield `\ntest: ${failed.size} file(s) with failing tests:\n`;
  for (const [file, names] of [...failed].sort(([a], [b]) => a.localeCompare(b))) {
    yield `test:   ${file}\n`;
    for (const name of names) yield `test:     ✖ ${name}\n`;
  }
}
