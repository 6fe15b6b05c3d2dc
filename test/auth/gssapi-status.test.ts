import { test } from 'node:test';
import assert from 'node:assert/strict';
import koffi from 'koffi';
import { gssLayout } from '../../src/auth/native/gssapi/layout.js';
import { GSS_S, gssFailureKind, KRB5, tidyStatusText } from '../../src/auth/native/gssapi/status.js';
import { libraryCandidates, loadSecurityProvider } from '../../src/auth/native/load.js';
import { NativeSecurityFailure } from '../../src/auth/native/provider.js';
import type { NativeFailureKind, SecurityLibraryInfo } from '../../src/auth/native/provider.js';

type Family = SecurityLibraryInfo['family'];

/**
 * Major and minor status → kind: the spec of the classifier. Rows marked "lab" were seen in the lab
 * (test/auth/spnego.test.ts runs them against MIT and Heimdal); the AD rows are the codes behind the
 * texts a Samba AD DC gave (notes/found-2026-12-07/active-directory.md).
 */
const TABLE: ReadonlyArray<readonly [number, number, Family, NativeFailureKind, string]> = [
  [GSS_S.NO_CRED, KRB5.CC_NOTFOUND, 'mit', 'no-credentials', 'lab: MIT, empty ccache (inquire_cred)'],
  [GSS_S.NO_CRED, 100001, 'mit', 'no-credentials', 'lab: MIT SPNEGO, empty ccache (minor renumbered by the mechglue)'],
  [GSS_S.BAD_MECH, 0, 'heimdal', 'no-credentials', 'lab: Heimdal SPNEGO, empty ccache'],
  [GSS_S.BAD_MECH, 0, 'apple', 'no-credentials', 'GSS.framework is Heimdal'],
  [GSS_S.BAD_MECH, 0, 'mit', 'other', 'MIT never says BAD_MECH for missing credentials'],
  [GSS_S.FAILURE, KRB5.FCC_NOFILE, 'heimdal', 'no-credentials', 'no ccache file'],
  [GSS_S.FAILURE, KRB5.CC_FORMAT, 'mit', 'no-credentials', 'empty ccache file'],
  [GSS_S.FAILURE, KRB5.KRB_AP_ERR_TKT_EXPIRED, 'mit', 'credentials-expired', 'lab: expired TGT'],
  [GSS_S.CREDENTIALS_EXPIRED, 0, 'heimdal', 'credentials-expired', 'major alone'],
  [GSS_S.CONTEXT_EXPIRED, 0, 'apple', 'credentials-expired', 'Heimdal: a ticket with no lifetime left'],
  [GSS_S.FAILURE, KRB5.KDC_UNREACH, 'mit', 'kdc-unreachable', 'lab: KDC down'],
  [GSS_S.NO_CRED, KRB5.KDC_UNREACH, 'mit', 'kdc-unreachable', 'client keytab, KDC down: the minor decides'],
  [GSS_S.FAILURE, KRB5.REALM_CANT_RESOLVE, 'heimdal', 'kdc-unreachable', "the KDC's name does not resolve"],
  [GSS_S.FAILURE, KRB5.KRB_AP_ERR_SKEW, 'mit', 'clock-skew', 'KRB5KRB_AP_ERR_SKEW'],
  [GSS_S.FAILURE, KRB5.KDCREP_SKEW, 'heimdal', 'clock-skew', 'KRB5_KDCREP_SKEW'],
  [GSS_S.FAILURE, KRB5.KRB_AP_ERR_TKT_NYV, 'mit', 'clock-skew', 'AD d6: ticket not yet valid'],
  [GSS_S.FAILURE, KRB5.KDC_ERR_S_PRINCIPAL_UNKNOWN, 'mit', 'unknown-service', 'lab: unknown SPN'],
  [GSS_S.FAILURE, KRB5.KDC_ERR_POLICY, 'mit', 'account-disabled', 'AD d2: "KDC policy rejects request"'],
  [GSS_S.NO_CRED, KRB5.KDC_ERR_CLIENT_REVOKED, 'mit', 'account-disabled', 'lab: client keytab, modprinc -allow_tix'],
  [GSS_S.NO_CRED, KRB5.KDC_ERR_NAME_EXP, 'mit', 'account-expired', 'lab: client keytab, modprinc -expire'],
  [GSS_S.NO_CRED, KRB5.KDC_ERR_KEY_EXP, 'mit', 'password-expired', 'lab: client keytab, modprinc -pwexpire'],
  [GSS_S.FAILURE, KRB5.KDC_ERR_CLIENT_REVOKED, 'heimdal', 'account-disabled', 'AD: disabled or locked out'],
  [GSS_S.FAILURE, KRB5.KDC_ERR_NAME_EXP, 'mit', 'account-expired', 'AD d4'],
  [GSS_S.FAILURE, KRB5.KDC_ERR_KEY_EXP, 'mit', 'password-expired', 'AD: password expired'],
  [GSS_S.FAILURE, KRB5.KDC_ERR_ETYPE_NOSUPP, 'mit', 'no-common-enctype', 'AD a3'],
  [GSS_S.FAILURE, KRB5.CC_NOT_KTYPE, 'mit', 'no-common-enctype', 'lab: default_tgs_enctypes the service lacks'],
  [GSS_S.FAILURE, KRB5.KRB_AP_ERR_BADKEYVER, 'heimdal', 'wrong-key-version', 'stale keytab'],
  [GSS_S.DEFECTIVE_TOKEN, 0, 'mit', 'mutual-auth-failed', "a reply token that is not the proxy's"],
  [GSS_S.FAILURE, KRB5.KRB_AP_ERR_MUT_FAIL, 'mit', 'mutual-auth-failed', 'mutual authentication failed'],
  [GSS_S.FAILURE, 0x96c73a00 + 31, 'mit', 'other', 'KRB5KRB_AP_ERR_BAD_INTEGRITY: no class of its own'],
  [GSS_S.FAILURE, 100005, 'mit', 'other', 'a renumbered minor tells nothing'],
];

test('GSSAPI status codes → failure kind (MIT, Heimdal, Apple): by code, never by text', () => {
  for (const [major, minor, family, kind, why] of TABLE) assert.equal(gssFailureKind(major, minor, family), kind, `${why}: major 0x${major.toString(16)} minor 0x${(minor >>> 0).toString(16)} ${family}`);
  // The calling-error and supplementary bits do not change the routine error's meaning.
  assert.equal(gssFailureKind(GSS_S.NO_CRED | (1 << 24) | GSS_S.CONTINUE_NEEDED, 0, 'mit'), 'no-credentials');
});

test("Heimdal's texts lose their leading space and trailing period", () => {
  assert.equal(tidyStatusText(' No credentials were supplied, or the credentials were unavailable or inaccessible.'), 'No credentials were supplied, or the credentials were unavailable or inaccessible');
  assert.equal(tidyStatusText('Server not found in Kerberos database'), 'Server not found in Kerberos database');
});

test('struct layouts: pack(2) on Intel macOS, natural on Apple silicon and Linux; koffi builds the same', () => {
  const rows: ReadonlyArray<readonly [NodeJS.Platform, string, 2 | undefined, number, number]> = [
    ['darwin', 'x64', 2, 12, 4],
    ['darwin', 'arm64', undefined, 16, 8],
    ['linux', 'x64', undefined, 16, 8],
    ['linux', 'arm64', undefined, 16, 8],
    ['win32', 'x64', undefined, 16, 8],
  ];
  for (const [platform, arch, pack, oidSize, elementsOffset] of rows) {
    const layout = gssLayout(platform, arch);
    assert.deepEqual([layout.pack, layout.oidDesc.size, layout.oidDesc.elementsOffset, layout.bufferDesc.size, layout.bufferDesc.valueOffset], [pack, oidSize, elementsOffset, 16, 8], `${platform}-${arch}`);
    // The koffi types the binding declares (pack → koffi.pack) have these sizes and offsets on this machine's 64-bit ABI.
    const record = layout.pack ? koffi.pack : koffi.struct;
    const oid = record({ length: 'uint32_t', elements: 'void *' });
    const buffer = record({ length: 'size_t', value: 'void *' });
    assert.deepEqual([koffi.sizeof(oid), koffi.offsetof(oid, 'elements'), koffi.sizeof(buffer), koffi.offsetof(buffer, 'value')], [oidSize, elementsOffset, 16, 8], `koffi ${platform}-${arch}`);
  }
});

test('which library each platform loads, and JAATO_GSSAPI_LIBRARY', () => {
  const names = (platform: NodeJS.Platform, setting?: string): string[] => libraryCandidates(platform, setting).map((c) => `${c.family}:${c.library}`);
  assert.deepEqual(names('linux'), ['mit:libgssapi_krb5.so.2', 'heimdal:libgssapi.so.3']);
  assert.deepEqual(names('freebsd'), ['mit:libgssapi_krb5.so.2', 'heimdal:libgssapi.so.3']);
  assert.deepEqual(names('darwin'), ['apple:/System/Library/Frameworks/GSS.framework/GSS']);
  assert.deepEqual(names('win32'), ['sspi:secur32.dll']);
  assert.deepEqual(names('linux', 'heimdal'), ['heimdal:libgssapi.so.3']);
  assert.deepEqual(names('linux', ' MIT '), ['mit:libgssapi_krb5.so.2']);
  assert.deepEqual(names('linux', '/opt/krb5/lib/libgssapi_krb5.so'), ['mit:/opt/krb5/lib/libgssapi_krb5.so']);
  assert.deepEqual(names('darwin', ''), ['apple:/System/Library/Frameworks/GSS.framework/GSS']);
  assert.deepEqual(names('win32', 'C:\\Program Files\\MIT\\Kerberos\\bin\\gssapi64.dll'), ['mit:C:\\Program Files\\MIT\\Kerberos\\bin\\gssapi64.dll'], "MIT Kerberos for Windows' GSSAPI");
  assert.deepEqual(names('win32', 'secur32.dll'), ['sspi:secur32.dll']);
});

test('a library that does not load: a library-missing failure naming JAATO_GSSAPI_LIBRARY and what was tried; Windows asks the SSPI binding', async () => {
  await assert.rejects(loadSecurityProvider({ env: { JAATO_GSSAPI_LIBRARY: '/nonexistent/libgss.so' } }), (e: unknown) => {
    assert.ok(e instanceof NativeSecurityFailure);
    assert.equal(e.kind, 'library-missing');
    assert.match(e.message, /^JAATO_GSSAPI_LIBRARY=\/nonexistent\/libgss\.so; tried \/nonexistent\/libgss\.so \(.+\)$/);
    return true;
  });
  // On this Linux machine secur32.dll cannot load, whichever SSPI binding is built.
  await assert.rejects(loadSecurityProvider({ platform: 'win32', env: {} }), (e: unknown) => e instanceof NativeSecurityFailure && e.kind === 'library-missing' && /secur32/.test(e.message));
});
