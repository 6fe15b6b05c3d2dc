import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NoProxyList, shouldBypassProxy } from '../../src/config/index.js';

// Each row: the NO_PROXY value, a URL, and whether that URL bypasses the proxy. The table is the spec:
// curl 7.86-8.8 and undici semantics, plus host:port entries.
const CASES: ReadonlyArray<[string, string, boolean]> = [
  ['example.com', 'http://example.com/', true],
  ['example.com', 'http://www.example.com/', true],
  ['example.com', 'http://a.b.example.com/', true],
  ['example.com', 'http://nexample.com/', false],
  ['example.com', 'http://example.com.evil.net/', false],
  ['.example.com', 'http://example.com/', true],
  ['.example.com', 'http://www.example.com/', true],
  ['.example.com', 'http://nexample.com/', false],
  ['*.example.com', 'http://www.example.com/', true],
  ['.corp.com', 'http://malicious-corp.com/', false],
  ['EXAMPLE.com', 'http://www.Example.COM/', true],
  ['example.com.', 'http://example.com/', true],
  ['example.com', 'http://example.com./', true],
  ['*', 'https://anything.at.all:9999/', true],
  ['a.com, b.com', 'http://b.com/', true],
  ['a.com b.com', 'http://b.com/', true],
  ['a.com,,  ,b.com', 'http://b.com/', true],
  ['localhost', 'http://localhost:8080/', true],
  ['localhost', 'http://127.0.0.1/', false],
  ['127.0.0.1', 'http://127.0.0.1:3000/', true],
  ['127.0.0.1', 'http://127.0.0.10/', false],
  ['127.0.0.1', 'http://127.1/', true],
  ['10.0.0.0/8', 'http://10.1.2.3/', true],
  ['10.0.0.0/8', 'http://11.1.2.3/', false],
  ['10.0.0.0/8', 'http://10.example.com/', false],
  ['192.168.0.0/16', 'http://192.168.255.1/', true],
  ['0.0.0.0/0', 'http://8.8.8.8/', true],
  ['::1', 'http://[::1]:8080/', true],
  ['[::1]', 'http://[::1]/', true],
  ['::1', 'http://[::2]/', false],
  ['::1/64', 'http://[::abcd]/', true],
  ['2001:db8::/32', 'http://[2001:db8:1::1]/', true],
  ['2001:db8::/32', 'http://[2001:db9::1]/', false],
  ['0:0:0:0:0:0:0:1', 'http://[::1]/', true],
  ['api.corp.com:443', 'https://api.corp.com/', true],
  ['api.corp.com:443', 'http://api.corp.com/', false],
  ['api.corp.com:8443', 'https://api.corp.com:8443/x', true],
  ['api.corp.com:8443', 'https://api.corp.com/', false],
  ['[::1]:8080', 'http://[::1]:8080/', true],
  ['[::1]:8080', 'http://[::1]:8081/', false],
  ['bücher.de', 'http://xn--bcher-kva.de/', true],
  ['xn--bcher-kva.de', 'http://bücher.de/', true],
  // The host is taken by the WHATWG parser: userinfo, query and fragment cannot fake it.
  ['internal.corp', 'http://internal.corp@evil.com/', false],
  ['internal.corp', 'http://evil.com/?internal.corp', false],
  ['internal.corp', 'http://evil.com/#internal.corp', false],
  ['internal.corp', 'http://evil.com\\@internal.corp/', false], // WHATWG: backslash is a slash, host is evil.com
  ['evil.com', 'http://%65vil.com/', true],
  ['', 'http://example.com/', false],
];

test('NO_PROXY table (curl/undici semantics)', () => {
  for (const [value, url, expected] of CASES) {
    assert.equal(shouldBypassProxy(url, { NO_PROXY: value }), expected, `NO_PROXY=${JSON.stringify(value)} ${url}`);
  }
});

test('no_proxy wins over NO_PROXY when both are set', () => {
  assert.equal(shouldBypassProxy('http://a.com/', { no_proxy: 'a.com', NO_PROXY: 'b.com' }), true);
  assert.equal(shouldBypassProxy('http://b.com/', { no_proxy: 'a.com', NO_PROXY: 'b.com' }), false);
});

test('malformed NO_PROXY entries are skipped and reported, the rest still applies', () => {
  const list = new NoProxyList('http://x.com, 10.0.0.0/99, a.com:99999, ok.com, foo/bar, a*b.com');
  assert.deepEqual(
    list.ignored.map((i) => i.entry),
    ['http://x.com', '10.0.0.0/99', 'a.com:99999', 'foo/bar', 'a*b.com'],
  );
  for (const i of list.ignored) assert.ok(i.reason.length > 0);
  assert.equal(list.match({ hostname: 'ok.com', port: 80, ipVersion: 0 }), 'ok.com');
});
