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

test('PAC answer: at most 10 entries are read, skipped ones included; the cut is said', () => {
  const many = Array.from({ length: 12 }, (_, i) => `PROXY p${i}:1`).join('; ');
  const a = parsePacAnswer(many);
  assert.deepEqual(a?.entries.map((e) => e.raw), Array.from({ length: 10 }, (_, i) => `PROXY p${i}:1`));
  assert.equal(a?.truncated, 'more than 10 entries: only the first 10 were read');
  assert.equal(a?.skipped.at(-1), 'the rest of the answer: more than 10 entries: only the first 10 were read');
  const exactly = parsePacAnswer(Array.from({ length: 10 }, () => 'SOCKS s:1').join(';') + ';;; ;');
  assert.equal(exactly?.truncated, undefined, 'empty parts are not entries');
  assert.equal(exactly?.skipped.length, 10);
});

test('PAC answer: past 8192 characters it is read to the last ";" before the cut, an entry cut in two dropped', () => {
  const long = `PROXY a:1; PROXY ${'b'.repeat(8200)}:2; DIRECT`;
  const a = parsePacAnswer(long);
  assert.deepEqual(a?.entries.map((e) => e.raw), ['PROXY a:1']);
  assert.equal(a?.truncated, `longer than 8192 characters (${long.length}): only its first 9 were read`);
  assert.equal(parsePacAnswer('x'.repeat(10_000))?.entries.length, 0, 'no separator before the cut: nothing read');
});

test('PAC answer: control characters in a skipped entry are shown escaped', () => {
  const a = parsePacAnswer('PROXY a:1\r\nX-Injected: 1; BANANA \u001b[2J; DIRECT');
  assert.deepEqual(a?.entries.map((e) => e.raw), ['DIRECT']);
  assert.deepEqual(a?.skipped, ['"PROXY a:1\\r\\nX-Injected: 1": not a PAC entry (DIRECT, PROXY host:port, HTTPS host:port)', '"BANANA \\x1b[2J": not a PAC entry (DIRECT, PROXY host:port, HTTPS host:port)']);
});

test('PAC answer: a tab between keyword and host still separates them', () => {
  assert.deepEqual(parsePacAnswer('PROXY\ta:1;\tDIRECT')?.entries.map((e) => e.type), ['proxy', 'direct']);
});
