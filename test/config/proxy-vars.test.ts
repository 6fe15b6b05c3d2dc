import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  explain,
  getProxyUrl,
  InvalidProxyUrlError,
  isKerberosProxyEnabled,
  resolveConfig,
  UnsupportedProxySchemeError,
} from '../../src/config/index.js';

const P = (host: string): string => `http://${host}:8080/`;

test('getProxyUrl: which variable answers for which target', () => {
  const rows: ReadonlyArray<[Record<string, string>, string | undefined, string | undefined]> = [
    [{ HTTPS_PROXY: P('s') }, 'https://x/', P('s')],
    [{ HTTPS_PROXY: P('s') }, 'http://x/', undefined],
    [{ HTTP_PROXY: P('h') }, 'https://x/', P('h')], // the seed's fallback
    [{ HTTP_PROXY: P('h'), HTTPS_PROXY: P('s') }, 'http://x/', P('h')],
    [{ https_proxy: P('lower'), HTTPS_PROXY: P('upper') }, 'https://x/', P('lower')],
    [{ http_proxy: P('lower'), HTTP_PROXY: P('upper') }, 'http://x/', P('lower')],
    [{ ALL_PROXY: P('all') }, 'http://x/', P('all')],
    [{ ALL_PROXY: P('all'), HTTP_PROXY: P('h') }, 'http://x/', P('h')],
    [{ HTTPS_PROXY: 'proxy.corp:3128' }, 'https://x/', 'http://proxy.corp:3128/'],
    [{ HTTPS_PROXY: '' , HTTP_PROXY: P('h')}, 'https://x/', P('h')],
    [{ HTTPS_PROXY: P('s') }, 'wss://x/', P('s')],
    [{ HTTPS_PROXY: P('s') }, 'ftp://x/', undefined],
    [{ HTTP_PROXY: P('h'), HTTPS_PROXY: P('s') }, undefined, P('s')],
    [{ HTTP_PROXY: P('h') }, undefined, P('h')],
    [{}, 'https://x/', undefined],
  ];
  for (const [env, target, expected] of rows) {
    assert.equal(getProxyUrl(target, env), expected, `${JSON.stringify(env)} ${target}`);
  }
});

test('malformed and unsupported proxy URLs: typed errors that name the variable and hide the password', () => {
  assert.throws(
    () => getProxyUrl('https://x/', { HTTPS_PROXY: 'http://user:s3cret@[bad' }),
    (e: unknown) => e instanceof InvalidProxyUrlError && e.variable === 'HTTPS_PROXY' && /HTTPS_PROXY/.test(e.message) && !e.message.includes('s3cret'),
  );
  assert.throws(
    () => getProxyUrl('https://x/', { https_proxy: 'socks5://user:s3cret@proxy:1080' }),
    (e: unknown) =>
      e instanceof UnsupportedProxySchemeError && e.variable === 'https_proxy' && e.scheme === 'socks5' && !e.message.includes('s3cret'),
  );
  // A path is not malformed: curl ignores it, and so do we (test/config/proxy-url.test.ts).
  assert.equal(getProxyUrl('https://x/', { HTTPS_PROXY: 'http://proxy:8080/some/path' }), 'http://proxy:8080/');
});

test('isKerberosProxyEnabled: true/1/yes in any case; odd values disable with a warning from explain', () => {
  for (const v of ['true', 'TRUE', '1', 'yes', 'Yes', ' true ']) assert.equal(isKerberosProxyEnabled({ JAATO_KERBEROS_PROXY: v }), true, v);
  for (const v of ['false', '0', 'no', '', 'on', 'enabled']) assert.equal(isKerberosProxyEnabled({ JAATO_KERBEROS_PROXY: v }), false, v);
  assert.equal(isKerberosProxyEnabled({}), false);
  const e = explain('https://x/', { JAATO_KERBEROS_PROXY: 'enabled', HTTPS_PROXY: P('p') });
  assert.ok(e.warnings.some((w) => w.includes('JAATO_KERBEROS_PROXY') && w.includes('"enabled"')), e.warnings.join('\n'));
});

test('explain names the rule that decided, redacts the proxy, and reports ignored entries', () => {
  const env = {
    HTTPS_PROXY: 'http://svc:pa55word@proxy.corp:8080',
    JAATO_KERBEROS_PROXY: 'true',
    JAATO_NO_PROXY: 'github.com, *.bad',
    NO_PROXY: '.corp.com, 10.0.0.0/99',
  };
  const gh = explain('https://github.com/x', env);
  assert.equal(gh.route, 'direct');
  assert.equal(gh.rule, 'JAATO_NO_PROXY entry "github.com"');
  const corp = explain('https://api.corp.com/', env);
  assert.equal(corp.rule, 'NO_PROXY entry ".corp.com"');
  const api = explain('https://api.anthropic.com/v1', env);
  assert.equal(api.route, 'proxy');
  assert.equal(api.rule, 'HTTPS_PROXY');
  assert.equal(api.auth, 'negotiate');
  assert.equal(api.spn, 'HTTP@proxy.corp');
  assert.equal(api.basicFallback, true);
  assert.equal(api.proxy, 'http://****:****@proxy.corp:8080/');
  assert.ok(!JSON.stringify([gh, corp, api]).includes('pa55word'));
  assert.ok(api.warnings.some((w) => w.includes('"*.bad"')));
  assert.ok(api.warnings.some((w) => w.includes('"10.0.0.0/99"')));
  const plain = explain('https://api.anthropic.com/', { HTTPS_PROXY: 'http://svc:pw@proxy:1' });
  assert.equal(plain.auth, 'basic');
  assert.equal(explain('https://x/', { HTTPS_PROXY: 'http://proxy:1' }).auth, 'none');
  // A Windows account is NTLM's: nothing up front, the proxy's 407 decides (NTLM before Basic); pinned to Basic, Basic.
  assert.equal(explain('https://x/', { HTTPS_PROXY: 'http://CORP%5Cbob:pw@proxy:1' }).auth, 'none');
  assert.equal(explain('https://x/', { HTTPS_PROXY: 'http://CORP%5Cbob:pw@proxy:1', JAATO_PROXY_AUTH: 'basic' }).auth, 'basic');
  assert.equal(explain('https://x/', { HTTPS_PROXY: 'http://bob%40corp.example:pw@proxy:1' }).auth, 'basic');
  assert.equal(explain('https://x/', {}).rule, 'no proxy variable is set for https: URLs');
});

test('explain reports a malformed proxy as an error, not a crash', () => {
  const e = explain('https://x/', { HTTPS_PROXY: 'socks5://a:b@h:1' });
  assert.equal(e.route, 'error');
  assert.equal(e.error?.code, 'ERR_JAATO_UNSUPPORTED_PROXY_SCHEME');
  assert.ok(!JSON.stringify(e).includes(':b@'));
});

test('SPN override by variable, and by option winning over it', () => {
  const env = { HTTPS_PROXY: P('proxy'), JAATO_KERBEROS_PROXY: '1', JAATO_KERBEROS_SPN: 'HTTP/proxy-alias.corp' };
  assert.equal(explain('https://x/', env).spn, 'HTTP@proxy-alias.corp');
  assert.equal(explain('https://x/', env, { spn: 'HTTP@other' }).spn, 'HTTP@other');
  const bad = explain('https://x/', { ...env, JAATO_KERBEROS_SPN: 'HTTP/a@REALM' });
  assert.equal(bad.route, 'error');
  assert.match(bad.rule, /JAATO_KERBEROS_SPN/);
});

test('compiled once per distinct environment, recompiled when a value changes', () => {
  const env: Record<string, string> = { NO_PROXY: 'a.com' };
  const first = resolveConfig({ env });
  assert.equal(resolveConfig({ env: { ...env } }), first, 'same values, same compiled config');
  env.NO_PROXY = 'b.com';
  const second = resolveConfig({ env });
  assert.notEqual(second, first);
  assert.equal(second.bypassRule('http://b.com/'), 'NO_PROXY entry "b.com"');
});
