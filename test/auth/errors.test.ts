import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyGssError,
  KerberosAccountDisabledError,
  KerberosAccountExpiredError,
  KerberosClockSkewError,
  KerberosEnctypeError,
  KerberosError,
  KerberosKdcUnreachableError,
  KerberosKeyVersionError,
  KerberosLibraryMissingError,
  KerberosNoCredentialsError,
  KerberosPasswordExpiredError,
  KerberosTicketExpiredError,
  KerberosUnknownSpnError,
} from '../../src/auth/errors.js';
import { NativeSecurityFailure, type NativeFailureKind } from '../../src/auth/native/provider.js';
import { kerberosPlatform, type KerberosProblem } from '../../src/config/platform.js';

/** Each failure kind (from status codes) → its class and code, and what its remedy says per platform. */
const KINDS: ReadonlyArray<readonly [NativeFailureKind, new (...a: never[]) => KerberosError, string, Record<'linux' | 'darwin' | 'win32', RegExp>]> = [
  ['no-credentials', KerberosNoCredentialsError, 'ERR_JAATO_KERBEROS_NO_CREDENTIALS', { linux: /^Run `kinit user@REALM` \(check with `klist`\)$/, darwin: /Ticket Viewer/, win32: /domain account/ }],
  ['credentials-expired', KerberosTicketExpiredError, 'ERR_JAATO_KERBEROS_TICKET_EXPIRED', { linux: /`kinit` \(an expired ticket cannot be renewed\)/, darwin: /Ticket Viewer/, win32: /lock and unlock/ }],
  ['kdc-unreachable', KerberosKdcUnreachableError, 'ERR_JAATO_KERBEROS_KDC_UNREACHABLE', { linux: /krb5\.conf/, darwin: /\/etc\/krb5\.conf/, win32: /domain controller/ }],
  ['clock-skew', KerberosClockSkewError, 'ERR_JAATO_KERBEROS_CLOCK_SKEW', { linux: /NTP/, darwin: /Date & Time/, win32: /w32tm \/resync/ }],
  ['unknown-service', KerberosUnknownSpnError, 'ERR_JAATO_KERBEROS_UNKNOWN_SPN', { linux: /JAATO_KERBEROS_SPN.*`kvno HTTP\/proxy\.corp`/, darwin: /`kgetcred HTTP\/proxy\.corp`/, win32: /`setspn -Q HTTP\/proxy\.corp`/ }],
  ['account-disabled', KerberosAccountDisabledError, 'ERR_JAATO_KERBEROS_ACCOUNT_DISABLED', { linux: /disabled, locked out.*`kinit` again/, darwin: /administrators can unlock/, win32: /administrators/ }],
  ['account-expired', KerberosAccountExpiredError, 'ERR_JAATO_KERBEROS_ACCOUNT_EXPIRED', { linux: /extend it/, darwin: /extend it/, win32: /extend it/ }],
  ['password-expired', KerberosPasswordExpiredError, 'ERR_JAATO_KERBEROS_PASSWORD_EXPIRED', { linux: /`kinit` asks for a new one/, darwin: /`kinit`/, win32: /Ctrl\+Alt\+Del/ }],
  ['no-common-enctype', KerberosEnctypeError, 'ERR_JAATO_KERBEROS_NO_COMMON_ENCTYPE', { linux: /permitted_enctypes.*msDS-SupportedEncryptionTypes/, darwin: /AES/, win32: /msDS-SupportedEncryptionTypes/ }],
  ['wrong-key-version', KerberosKeyVersionError, 'ERR_JAATO_KERBEROS_KEY_VERSION', { linux: /keytab is out of date.*klist -ket/, darwin: /new keytab/, win32: /new keytab/ }],
  ['library-missing', KerberosLibraryMissingError, 'ERR_JAATO_KERBEROS_LIBRARY_MISSING', { linux: /libgssapi-krb5-2.*krb5-libs.*JAATO_GSSAPI_LIBRARY/, darwin: /GSS\.framework.*JAATO_GSSAPI_LIBRARY/, win32: /secur32\.dll/ }],
  ['other', KerberosError, 'ERR_JAATO_KERBEROS', { linux: /klist.*KRB5_TRACE/, darwin: /Ticket Viewer/, win32: /klist purge/ }],
  ['mutual-auth-failed', KerberosError, 'ERR_JAATO_KERBEROS', { linux: /klist/, darwin: /klist/, win32: /klist/ }],
];

test('each failure kind maps to its own class and code, with the remedy of the platform it runs on', () => {
  for (const [kind, Class, code, remedies] of KINDS) {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      const text = 'the library says so';
      const e = classifyGssError(platform === 'win32' ? 'HTTP/proxy.corp' : 'HTTP@proxy.corp', new NativeSecurityFailure(kind, 'gss_init_sec_context', 0xd0000, 0x96c73a07, text), platform);
      const label = `${kind} on ${platform}`;
      assert.ok(e instanceof Class, `${label} → ${e.name}`);
      assert.equal(e.code, code, label);
      assert.match(e.remedy ?? '', remedies[platform], label);
      assert.ok(e.message.includes(e.remedy ?? '\u0000'), `${label}: the message carries the remedy`);
      assert.equal(e.gssMessage, text, label);
      assert.ok(e.cause instanceof NativeSecurityFailure, label);
      if (platform === 'win32') assert.doesNotMatch(e.message, /kinit|krb5\.conf/, `${label}: Windows has no kinit`);
      assert.doesNotMatch(e.message, /<host>/, `${label}: no placeholder host`);
    }
  }
  // Anything that is not the library's classified failure is the generic error, never guessed from text.
  const guess = classifyGssError('HTTP@proxy.corp', new Error('Clock skew too great'), 'linux');
  assert.equal(guess.code, 'ERR_JAATO_KERBEROS');
});

test('unknown service: when the library asked for another name (DNS canonicalization), both names and the krb5.conf remedy', () => {
  const failure = new NativeSecurityFailure('unknown-service', 'gss_init_sec_context', 0xd0000, 0x96c73a07, 'Server not found in Kerberos database');
  const renamed = classifyGssError('HTTP@proxy.ad.jaato.test', failure, 'linux', 'HTTP/localhost@AD.JAATO.TEST');
  assert.ok(renamed instanceof KerberosUnknownSpnError);
  assert.equal(renamed.requestedPrincipal, 'HTTP/localhost@AD.JAATO.TEST');
  assert.match(renamed.message, /the KDC does not know HTTP\/localhost@AD\.JAATO\.TEST, the name the Kerberos library asked for instead of HTTP@proxy\.ad\.jaato\.test/);
  assert.match(renamed.remedy ?? '', /`rdns = false` and `dns_canonicalize_hostname = false` in \[libdefaults\] of krb5\.conf/);
  assert.doesNotMatch(renamed.remedy ?? '', /set JAATO_KERBEROS_SPN/, 'the override goes through the same rewriting');
  // The same name, with the realm added: no rewriting, the usual remedy.
  const same = classifyGssError('HTTP@Proxy.Corp', failure, 'linux', 'HTTP/proxy.corp@CORP');
  assert.ok(same instanceof KerberosUnknownSpnError);
  assert.equal(same.requestedPrincipal, undefined);
  assert.match(same.remedy ?? '', /JAATO_KERBEROS_SPN.*`kvno HTTP\/proxy\.corp`/);
});

test('remedies fit the platform: no kinit on Windows, Ticket Viewer on macOS, kinit/klist on Linux; no placeholder host', () => {
  const problems = Object.keys(kerberosPlatform('linux').remedies) as KerberosProblem[];
  assert.equal(problems.length, 13);
  for (const problem of problems) {
    assert.doesNotMatch(kerberosPlatform('win32').remedies[problem], /kinit|krb5\.conf|HTTP@/, `win32 ${problem}`);
    for (const platform of ['linux', 'darwin', 'win32'] as const) assert.doesNotMatch(kerberosPlatform(platform).remedies[problem], /<host>/, `${platform} ${problem}`);
  }
  assert.match(kerberosPlatform('darwin').remedies.noCredentials, /Ticket Viewer/);
  assert.match(kerberosPlatform('linux').remedies.noCredentials, /kinit.*klist/);
  assert.doesNotMatch(kerberosPlatform('linux').remedies.expired, /kinit -R/, 'an expired ticket cannot be renewed');
  assert.doesNotMatch(kerberosPlatform('linux').remedies.libraryMissing, /libkrb5-dev|compiler/);
  // The timeout variant of the KDC error says what happened and keeps the platform's remedy.
  const t = new KerberosKdcUnreachableError('HTTP/proxy.corp', '', undefined, 'win32', { ms: 3000 });
  assert.equal(t.timeoutMs, 3000);
  assert.match(t.message, /no answer from the Kerberos library within 3000 ms \(tokenTimeout\).*domain controller/);
  assert.doesNotMatch(t.message, /\(SSPI: /, 'no library text when there is none');
});
