import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain, getProxyUrl, InvalidProxyUrlError, parseProxyUrl } from '../../src/config/index.js';
import { describeIgnoredParts } from '../../src/config/proxy-url.js';

// A path, query or fragment in a proxy URL is ignored, as curl, Python and undici ignore it: what is
// used (and shown) is scheme, credentials, host and port. A query or fragment is never shown.
type Row = [value: string, origin: string, redacted: string, ignored: ReturnType<typeof parseProxyUrl>['ignored']];
const ROWS: readonly Row[] = [
  ['http://proxy:8080', 'http://proxy:8080', 'http://proxy:8080/', undefined],
  ['http://proxy:8080/', 'http://proxy:8080', 'http://proxy:8080/', undefined],
  ['http://proxy:8080/some/path', 'http://proxy:8080', 'http://proxy:8080/', { path: '/some/path' }],
  ['proxy:8080/some/path', 'http://proxy:8080', 'http://proxy:8080/', { path: '/some/path' }],
  ['https://proxy/p/', 'https://proxy', 'https://proxy/', { path: '/p/' }],
  ['http://proxy:8080//', 'http://proxy:8080', 'http://proxy:8080/', { path: '//' }],
  ['http://proxy:8080/?token=s3cret', 'http://proxy:8080', 'http://proxy:8080/', { query: true }],
  ['http://proxy:8080/#s3cret', 'http://proxy:8080', 'http://proxy:8080/', { fragment: true }],
  ['http://proxy:8080/x?a=s3cret#s3cret', 'http://proxy:8080', 'http://proxy:8080/', { path: '/x', query: true, fragment: true }],
  ['http://proxy:8080?', 'http://proxy:8080', 'http://proxy:8080/', undefined], // an empty query is no query
  ['http://u:s3cret@proxy:8080/x', 'http://proxy:8080', 'http://****:****@proxy:8080/', { path: '/x' }],
  ['http://[::1]:3128/x', 'http://[::1]:3128', 'http://[::1]:3128/', { path: '/x' }],
];

test('parseProxyUrl: a path, query or fragment is ignored and recorded; origin and the shown form lose it', () => {
  for (const [value, origin, redacted, ignored] of ROWS) {
    const p = parseProxyUrl(value, 'HTTPS_PROXY');
    assert.deepEqual([p.origin, p.redacted, p.ignored], [origin, redacted, ignored], value);
    assert.ok(!p.redacted.includes('s3cret'), value);
  }
  const withCreds = parseProxyUrl('http://u:s3cret@proxy:8080/x', 'HTTPS_PROXY');
  assert.deepEqual([withCreds.credentials?.username, withCreds.credentials?.password], ['u', 's3cret'], 'credentials still read');
});

test('describeIgnoredParts: names the variable and each ignored part, never the query or fragment', () => {
  const rows: ReadonlyArray<[string, string | undefined]> = [
    ['http://proxy:8080/', undefined],
    ['http://proxy:8080/some/path', 'HTTPS_PROXY: the path "/some/path" of the proxy URL ignored (a proxy is named by scheme, host and port; curl ignores the rest too): using http://proxy:8080/'],
    ['http://proxy:8080/?k=s3cret', 'HTTPS_PROXY: the query of the proxy URL ignored (a proxy is named by scheme, host and port; curl ignores the rest too): using http://proxy:8080/'],
    ['http://proxy:8080/a?k=s3cret#s3cret', 'HTTPS_PROXY: the path "/a", the query and the fragment of the proxy URL ignored (a proxy is named by scheme, host and port; curl ignores the rest too): using http://proxy:8080/'],
    ['http://u:s3cret@proxy:8080/p#f', 'HTTPS_PROXY: the path "/p" and the fragment of the proxy URL ignored (a proxy is named by scheme, host and port; curl ignores the rest too): using http://****:****@proxy:8080/'],
  ];
  for (const [value, expected] of rows) assert.equal(describeIgnoredParts(parseProxyUrl(value, 'HTTPS_PROXY')), expected, value);
});

test('a proxy variable with a path routes as without it, and explain warns once per variable', () => {
  const env = { HTTPS_PROXY: 'http://proxy.corp:8080/some/path', HTTP_PROXY: 'http://other:3128/?t=s3cret' };
  assert.equal(getProxyUrl('https://x/', env), 'http://proxy.corp:8080/');
  const e = explain('https://api.example.com/', env);
  assert.equal(e.route, 'proxy');
  assert.equal(e.proxy, 'http://proxy.corp:8080/');
  assert.deepEqual(e.warnings, [
    'HTTPS_PROXY: the path "/some/path" of the proxy URL ignored (a proxy is named by scheme, host and port; curl ignores the rest too): using http://proxy.corp:8080/',
    'HTTP_PROXY: the query of the proxy URL ignored (a proxy is named by scheme, host and port; curl ignores the rest too): using http://other:3128/',
  ]);
  assert.ok(!JSON.stringify(e).includes('s3cret'));
  // One variable serving both schemes: one warning, also when the URL asked about goes direct.
  const both = explain('https://github.com/', { HTTP_PROXY: 'http://p:1/x', NO_PROXY: 'github.com' });
  assert.equal(both.route, 'direct');
  assert.deepEqual(both.warnings.length, 1);
  assert.match(both.warnings[0] ?? '', /^HTTP_PROXY: the path "\/x"/);
  assert.equal(explain('https://x/', {}, { proxy: 'http://p:1/x' }).warnings[0]?.startsWith('options.proxy: the path "/x"'), true);
});

test('what stays malformed still throws InvalidProxyUrlError', () => {
  for (const value of ['http://', 'http://[bad', 'http://u:%zz@proxy:1/x']) {
    assert.throws(() => parseProxyUrl(value, 'HTTPS_PROXY'), InvalidProxyUrlError, value);
  }
});
