import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offeredSchemes, parseChallenges } from '../../src/auth/index.js';
import { redactUrl } from '../../src/redact.js';

test('Proxy-Authenticate parsing table', () => {
  const rows: ReadonlyArray<[string | string[], unknown]> = [
    ['Negotiate', [{ scheme: 'negotiate', params: {} }]],
    ['Negotiate YIIC3wYGKw==', [{ scheme: 'negotiate', token: 'YIIC3wYGKw==', params: {} }]],
    ['Basic realm="corp proxy"', [{ scheme: 'basic', params: { realm: 'corp proxy' } }]],
    [['Negotiate', 'Basic realm="x"'], [{ scheme: 'negotiate', params: {} }, { scheme: 'basic', params: { realm: 'x' } }]],
    [
      'Basic realm="a, b", charset="UTF-8", Negotiate, NTLM',
      [{ scheme: 'basic', params: { realm: 'a, b', charset: 'UTF-8' } }, { scheme: 'negotiate', params: {} }, { scheme: 'ntlm', params: {} }],
    ],
    ['NEGOTIATE abc', [{ scheme: 'negotiate', token: 'abc', params: {} }]],
    ['Basic realm="q\\"uote"', [{ scheme: 'basic', params: { realm: 'q"uote' } }]],
    ['Digest realm=x, nonce="n", Negotiate', [{ scheme: 'digest', params: { realm: 'x', nonce: 'n' } }, { scheme: 'negotiate', params: {} }]],
    ['', []],
    [' , ,Negotiate', [{ scheme: 'negotiate', params: {} }]],
  ];
  for (const [input, expected] of rows) assert.deepEqual(parseChallenges(input), expected, JSON.stringify(input));
  assert.deepEqual(offeredSchemes(parseChallenges(['Negotiate', 'Basic realm=x', 'negotiate'])), ['negotiate', 'basic']);
});

test('redactUrl masks credentials, also in URLs that do not parse', () => {
  assert.equal(redactUrl('http://u:p@proxy:8080'), 'http://****:****@proxy:8080/');
  assert.equal(redactUrl('http://u@proxy:8080'), 'http://****@proxy:8080/');
  assert.equal(redactUrl('http://proxy:8080'), 'http://proxy:8080/');
  assert.equal(redactUrl('http://u:s3cret@[bad'), 'http://****@[bad');
  assert.ok(!redactUrl('u:s3cret@host:99999').includes('s3cret'));
});
