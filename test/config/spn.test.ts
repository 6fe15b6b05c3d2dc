import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSpn, normalizeSpn } from '../../src/config/spn.js';
import { kerberosPlatform } from '../../src/config/platform.js';
import { InvalidOptionError } from '../../src/config/errors.js';
import { explain } from '../../src/config/explain.js';
import { resolveConfig } from '../../src/config/proxy-config.js';

const PLATFORMS = ['linux', 'darwin', 'win32'] as const;

/** The proxy host (as `URL.hostname` gives it) → the default name, per platform. */
const DEFAULTS: ReadonlyArray<readonly [host: string, linux: string, darwin: string, win32: string]> = [
  ['proxy.corp', 'HTTP@proxy.corp', 'HTTP@proxy.corp', 'HTTP/proxy.corp'],
  ['localhost', 'HTTP@localhost', 'HTTP@localhost', 'HTTP/localhost'],
  ['10.1.2.3', 'HTTP@10.1.2.3', 'HTTP@10.1.2.3', 'HTTP/10.1.2.3'],
  // IPv6: an SPN carries no URL brackets.
  ['[fd00::1]', 'HTTP@fd00::1', 'HTTP@fd00::1', 'HTTP/fd00::1'],
  ['fd00::1', 'HTTP@fd00::1', 'HTTP@fd00::1', 'HTTP/fd00::1'],
];

test('default service name: HTTP/host for SSPI (win32), HTTP@host for GSSAPI (linux, darwin)', () => {
  for (const [host, ...expected] of DEFAULTS) {
    PLATFORMS.forEach((platform, i) => assert.equal(defaultSpn(host, platform), expected[i], `${platform} ${host}`));
  }
  // Other Unixes go through GSSAPI like Linux.
  assert.equal(defaultSpn('proxy.corp', 'freebsd'), 'HTTP@proxy.corp');
});

/** A user's JAATO_KERBEROS_SPN / `spn` → what each platform's addon is given, or the error. */
const OVERRIDES: ReadonlyArray<readonly [input: string, linux: string | RegExp, darwin: string | RegExp, win32: string | RegExp]> = [
  ['HTTP/alias.corp', 'HTTP@alias.corp', 'HTTP@alias.corp', 'HTTP/alias.corp'],
  ['HTTP@alias.corp', 'HTTP@alias.corp', 'HTTP@alias.corp', 'HTTP/alias.corp'],
  ['http/Alias.Corp', 'http@Alias.Corp', 'http@Alias.Corp', 'http/Alias.Corp'],
  ['HTTP/[fd00::1]', 'HTTP@fd00::1', 'HTTP@fd00::1', 'HTTP/fd00::1'],
  ['HTTP@fd00::1', 'HTTP@fd00::1', 'HTTP@fd00::1', 'HTTP/fd00::1'],
  ['HTTP/proxy.corp:8080', 'HTTP@proxy.corp:8080', 'HTTP@proxy.corp:8080', 'HTTP/proxy.corp:8080'],
  // A realm: SSPI takes it; a GSSAPI host-based name cannot carry one.
  ['HTTP/proxy.corp@CORP.EXAMPLE', /names the realm CORP\.EXAMPLE.*host-based service name.*Write HTTP@proxy\.corp instead/, /names the realm CORP\.EXAMPLE/, 'HTTP/proxy.corp@CORP.EXAMPLE'],
  // Malformed everywhere.
  ['proxy.corp', /not a service name/, /not a service name/, /not a service name/],
  ['HTTP@proxy.corp@CORP.EXAMPLE', /not a service name/, /not a service name/, /not a service name.*HTTP\/proxy\.host@REALM/],
  ['HTTP/proxy.corp@', /not a service name/, /not a service name/, /not a service name/],
  ['HTTP/a/b', /not a service name/, /not a service name/, /not a service name/],
  ['HTTP@', /not a service name/, /not a service name/, /not a service name/],
  ['HTTP @proxy', /not a service name/, /not a service name/, /not a service name/],
  ['HTTP/[fd00::1', /not a service name/, /not a service name/, /not a service name/],
];

test('JAATO_KERBEROS_SPN in either spelling ends in the platform form; a realm only where it can work', () => {
  for (const [input, ...expected] of OVERRIDES) {
    PLATFORMS.forEach((platform, i) => {
      const want = expected[i] as string | RegExp;
      if (typeof want === 'string') {
        assert.equal(normalizeSpn(input, 'JAATO_KERBEROS_SPN', platform), want, `${platform} ${input}`);
      } else {
        assert.throws(
          () => normalizeSpn(input, 'JAATO_KERBEROS_SPN', platform),
          (e: unknown) => e instanceof InvalidOptionError && e.option === 'JAATO_KERBEROS_SPN' && /^JAATO_KERBEROS_SPN: /.test(e.message) && want.test(e.message),
          `${platform} ${input}`,
        );
      }
    });
  }
});

test('the route and explain carry the platform form, for the default and for an override', () => {
  const env = { HTTPS_PROXY: 'http://proxy.corp:8080', JAATO_KERBEROS_PROXY: '1' };
  const cases: ReadonlyArray<readonly [NodeJS.Platform, Record<string, string>, string]> = [
    ['win32', env, 'HTTP/proxy.corp'],
    ['linux', env, 'HTTP@proxy.corp'],
    ['darwin', env, 'HTTP@proxy.corp'],
    ['win32', { ...env, JAATO_KERBEROS_SPN: 'HTTP@alias.corp' }, 'HTTP/alias.corp'],
    ['linux', { ...env, JAATO_KERBEROS_SPN: 'HTTP/alias.corp' }, 'HTTP@alias.corp'],
    ['win32', { ...env, JAATO_KERBEROS_SPN: 'HTTP/alias.corp@CORP.EXAMPLE' }, 'HTTP/alias.corp@CORP.EXAMPLE'],
    ['win32', { ...env, HTTPS_PROXY: 'http://[fd00::1]:3128' }, 'HTTP/fd00::1'],
    ['linux', { ...env, HTTPS_PROXY: 'http://[fd00::1]:3128' }, 'HTTP@fd00::1'],
  ];
  for (const [platform, e, spn] of cases) {
    const route = resolveConfig({ env: e, platform }).route('https://api.example.com/');
    assert.equal(route.type === 'proxy' && route.spn, spn, `${platform} route`);
    assert.equal(explain('https://api.example.com/', e, { platform }).spn, spn, `${platform} explain`);
  }
  // The option wins over the variable, and is normalised the same way.
  assert.equal(explain('https://x/', env, { platform: 'win32', spn: 'HTTP@other' }).spn, 'HTTP/other');
  const refused = explain('https://x/', { ...env, JAATO_KERBEROS_SPN: 'HTTP/alias.corp@CORP.EXAMPLE' }, { platform: 'linux' });
  assert.equal(refused.route, 'error');
  assert.equal(refused.error?.code, 'ERR_JAATO_INVALID_OPTION');
  assert.match(refused.rule, /^JAATO_KERBEROS_SPN: .*realm CORP\.EXAMPLE/);
});

test('one table decides: separators, realm support and the library per platform', () => {
  assert.deepEqual(
    PLATFORMS.map((p) => [kerberosPlatform(p).api, kerberosPlatform(p).separator, kerberosPlatform(p).realmRefused === undefined]),
    [
      ['GSSAPI', '@', false],
      ['GSSAPI', '@', false],
      ['SSPI', '/', true],
    ],
  );
  assert.equal(kerberosPlatform(), kerberosPlatform(process.platform), 'the default is this process');
});
