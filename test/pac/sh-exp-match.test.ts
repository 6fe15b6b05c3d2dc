import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shExpMatch } from '../../src/pac/sh-exp-match.js';

// The spec: string, pattern, answer. `*` any run, `?` one character, everything else itself.
const CASES: [string, string, boolean][] = [
  ['http://home.netscape.com/people/ari/index.html', '*/ari/*', true],
  ['http://home.netscape.com/people/montulli/index.html', '*/ari/*', false],
  ['www.corp.example', '*.corp.example', true],
  ['corp.example', '*.corp.example', false],
  ['wwwxcorp.example', '*.corp.example', false],
  ['a', '?', true],
  ['', '?', false],
  ['ab', '?', false],
  ['', '*', true],
  ['', '', true],
  ['x', '', false],
  ['abc', 'a*c', true],
  ['ac', 'a*c', true],
  ['ab', 'a*c', false],
  ['aXbYc', 'a*b*c', true],
  ['acb', 'a*b*c', false],
  ['abab', '*ab', true],
  ['aba', 'ab*ba', false],
  ['abba', 'ab*ba', true],
  ['10.1.2.3', '10.?.*', true],
  ['10.12.2.3', '10.?.*', false],
  ['mississippi', '*iss*ppi', true],
  ['mississippi', 'm*?i*?i*', true],
  ['mississippi', 'm*??pi', true],
  ['mississippi', '*s?p*', true],
  ['mississippi', '*p?s*', false],
  // Regex syntax is literal (pac-resolver and browsers made a RegExp of it).
  ['c++.example', 'c++.example', true],
  ['cc.example', 'c++.example', false],
  ['a(b)', 'a(b)', true],
  ['ab', 'a(b)', false],
  ['[x]', '[x]', true],
  ['x', '[x]', false],
  ['a|b', 'a|b', true],
  ['a', 'a|b', false],
  ['a\\d', 'a\\d', true],
  ['a1', 'a\\d', false],
  ['^a$', '^a$', true],
  ['a{2}', 'a{2}', true],
  ['aa', 'a{2}', false],
  ['a.b', 'a.b', true],
  ['axb', 'a.b', false],
  // Case matters, as in the RegExp browsers build.
  ['WWW.corp', 'www.*', false],
];

test('shExpMatch: the glob table (`*`, `?`; every other character literal)', () => {
  for (const [str, pattern, expected] of CASES) assert.equal(shExpMatch(str, pattern), expected, `shExpMatch(${JSON.stringify(str)}, ${JSON.stringify(pattern)})`);
});

test('shExpMatch: patterns that made pac-resolver\'s RegExp backtrack for minutes answer at once', () => {
  const started = Date.now();
  assert.equal(shExpMatch(`${'a'.repeat(38)}!`, '(a+)+'), false);
  assert.equal(shExpMatch('a'.repeat(3000), '*a*a*a*a*a*a*b'), false);
  assert.equal(shExpMatch(`${'a'.repeat(3000)}b`, '*a*a*a*a*a*a*b'), true);
  assert.equal(shExpMatch('a'.repeat(100_000), `${'*a'.repeat(5000)}*`), true);
  assert.equal(shExpMatch('a'.repeat(100_000), `*${'?'.repeat(50)}b*`), false);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

test('shExpMatch: a long `?` search asks the clock and stops when overdue', () => {
  let asked = 0;
  assert.throws(
    () => shExpMatch('a'.repeat(200_000), `*${'?'.repeat(1000)}b*`, () => ++asked > 2),
    /interrupted: shExpMatch ran past the time limit/,
  );
  assert.equal(asked, 3);
});
