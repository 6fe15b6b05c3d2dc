import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePacAnswer } from '../../src/pac/pac-answer.js';

test('PAC answer: PROXY, HTTP, HTTPS and DIRECT in order, default ports by keyword, any case and spacing', () => {
  const a = parsePacAnswer(' PROXY a.corp:8080;proxy b.corp ; HTTPS c.corp;HTTP d:3128;  DIRECT ;https e:8443 ');
  assert.deepEqual(a?.entries.map((e) => (e.type === 'proxy' ? e.proxy : 'DIRECT')), [
    'http://a.corp:8080',
    'http://b.corp:80',
    'https://c.corp:443',
    'http://d:3128',
    'DIRECT',
    'https://e:8443',
  ]);
  assert.deepEqual(a?.skipped, []);
});

test('PAC answer: explicit default ports stay explicit, IPv6 literals keep their brackets', () => {
  const a = parsePacAnswer('PROXY p:80; HTTPS q:443; PROXY [::1]:3128');
  assert.deepEqual(a?.entries.map((e) => (e.type === 'proxy' ? e.proxy : '')), ['http://p:80', 'https://q:443', 'http://[::1]:3128']);
});

test('PAC answer: SOCKS entries and garbage are skipped with a reason, the rest kept', () => {
  const a = parsePacAnswer('SOCKS5 s:1080; PROXY; BANANA x:1; PROXY a:b:c; PROXY u:p@h:1; PROXY h:99999; PROXY h/x:1; DIRECT now; PROXY ok:1');
  assert.deepEqual(a?.entries.map((e) => e.raw), ['PROXY ok:1']);
  assert.equal(a?.skipped.length, 8);
  assert.match(a?.skipped[0] ?? '', /SOCKS proxies are not supported/);
});

test('PAC answer: not a string is no answer at all; an empty string has no entries', () => {
  for (const v of [undefined, null, 42, {}, ['DIRECT']]) assert.equal(parsePacAnswer(v), undefined);
  assert.deepEqual(parsePacAnswer(''), { entries: [], skipped: [] });
});
