import { test } from 'node:test';
import assert from 'node:assert/strict';
import { esmEntry } from '../../src/adapters/axios-copies.js';

// How the global install finds the ES module build a program's `import 'axios'` loads: the first of
// Node's import conditions (node, import, default) in the order the package wrote them.
const CASES: Array<[string, Parameters<typeof esmEntry>[0], string | undefined]> = [
  [
    'axios 1.x: types, bun, react-native and browser skipped; default → its import target',
    {
      exports: {
        '.': {
          types: { require: './index.d.cts', default: './index.d.ts' },
          bun: { require: './dist/node/axios.cjs', default: './index.js' },
          browser: { require: './dist/browser/axios.cjs', default: './index.js' },
          default: { require: './dist/node/axios.cjs', default: './index.js' },
        },
      },
    },
    './index.js',
  ],
  ['a string export', { exports: './main.mjs' }, './main.mjs'],
  ['the first matching condition wins, in the order written', { exports: { '.': { import: './a.mjs', node: './b.cjs' } } }, './a.mjs'],
  ['only require: no ES module entry', { exports: { '.': { require: './x.cjs' } } }, undefined],
  ['no exports: main', { main: 'lib/index.js' }, 'lib/index.js'],
];

for (const [name, pkg, expected] of CASES) {
  test(`esmEntry: ${name}`, () => assert.equal(esmEntry(pkg), expected));
}
