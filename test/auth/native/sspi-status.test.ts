import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type * as Koffi from 'koffi';
import { fileTimeToUnixMs, sspiTypes } from '../../../src/auth/native/sspi/api.js';
import { sspiFailureText } from '../../../src/auth/native/sspi/failure.js';
import { classifySspiStatus, isSspiSuccess, sspiStatusName, type SspiPhase } from '../../../src/auth/native/sspi/status.js';
import type { NativeFailureKind } from '../../../src/auth/native/provider.js';

// The SSPI binding's pure parts, on any platform: the status table is the spec of what each
// SECURITY_STATUS means to a caller, the layouts are sspi.h's on 64-bit Windows.

const TABLE: ReadonlyArray<[status: number, phase: SspiPhase, name: string, kind: NativeFailureKind]> = [
  [0x8009030e, 'first-token', 'SEC_E_NO_CREDENTIALS', 'no-credentials'],
  [0x8009030e, 'credentials', 'SEC_E_NO_CREDENTIALS', 'no-credentials'],
  [0x8009030d, 'credentials', 'SEC_E_UNKNOWN_CREDENTIALS', 'no-credentials'],
  [0x8009030c, 'first-token', 'SEC_E_LOGON_DENIED', 'no-credentials'],
  [0x80090303, 'first-token', 'SEC_E_TARGET_UNKNOWN', 'unknown-service'],
  [0x80090322, 'first-token', 'SEC_E_WRONG_PRINCIPAL', 'wrong-key-version'],
  [0x80090322, 'reply-token', 'SEC_E_WRONG_PRINCIPAL', 'mutual-auth-failed'],
  [0x80090324, 'first-token', 'SEC_E_TIME_SKEW', 'clock-skew'],
  [0x80090311, 'first-token', 'SEC_E_NO_AUTHENTICATING_AUTHORITY', 'kdc-unreachable'],
  [0x80090311, 'credentials', 'SEC_E_NO_AUTHENTICATING_AUTHORITY', 'kdc-unreachable'],
  [0x80090342, 'first-token', 'SEC_E_KDC_UNKNOWN_ETYPE', 'no-common-enctype'],
  [0x80090317, 'first-token', 'SEC_E_CONTEXT_EXPIRED', 'credentials-expired'],
  [0x80090363, 'reply-token', 'SEC_E_MUTUAL_AUTH_FAILED', 'mutual-auth-failed'],
  [0x80090308, 'reply-token', 'SEC_E_INVALID_TOKEN', 'mutual-auth-failed'],
  [0x80090308, 'first-token', 'SEC_E_INVALID_TOKEN', 'other'],
  [0x8009030f, 'reply-token', 'SEC_E_MESSAGE_ALTERED', 'mutual-auth-failed'],
  [0x80090305, 'credentials', 'SEC_E_SECPKG_NOT_FOUND', 'library-missing'],
  [0x80090304, 'first-token', 'SEC_E_INTERNAL_ERROR', 'other'],
  [0xc0000072, 'first-token', 'STATUS_ACCOUNT_DISABLED', 'account-disabled'],
  [0xc0000234, 'first-token', 'STATUS_ACCOUNT_LOCKED_OUT', 'account-disabled'],
  [0xc000006e, 'first-token', 'STATUS_ACCOUNT_RESTRICTION', 'account-disabled'],
  [0xc0000193, 'first-token', 'STATUS_ACCOUNT_EXPIRED', 'account-expired'],
  [0xc0000071, 'first-token', 'STATUS_PASSWORD_EXPIRED', 'password-expired'],
  [0xc0000224, 'first-token', 'STATUS_PASSWORD_MUST_CHANGE', 'password-expired'],
  [0xc0000133, 'first-token', 'STATUS_TIME_DIFFERENCE_AT_DC', 'clock-skew'],
  [0xc000005e, 'first-token', 'STATUS_NO_LOGON_SERVERS', 'kdc-unreachable'],
  [0x80070533, 'first-token', 'ERROR_ACCOUNT_DISABLED', 'account-disabled'],
  [0x80070701, 'first-token', 'ERROR_ACCOUNT_EXPIRED', 'account-expired'],
  [0x80070532, 'first-token', 'ERROR_PASSWORD_EXPIRED', 'password-expired'],
  [0x80090999, 'first-token', '0x80090999', 'other'],
];

test('each SSPI status has its name and kind (the table is the spec)', () => {
  for (const [status, phase, name, kind] of TABLE) {
    assert.equal(sspiStatusName(status), name, `name of 0x${status.toString(16)}`);
    assert.equal(classifySspiStatus(status, phase), kind, `${name} on ${phase}`);
    // koffi gives SECURITY_STATUS as a signed int32: the same answers.
    assert.equal(classifySspiStatus(status | 0, phase), kind, `${name} as a signed int32`);
    assert.equal(sspiStatusName(status | 0), name);
  }
});

test('success is SEC_E_OK and the SEC_I_ statuses; every SEC_E_ is a failure', () => {
  for (const s of [0, 0x00090312, 0x00090313, 0x00090314]) assert.equal(isSspiSuccess(s), true, s.toString(16));
  for (const s of [0x8009030e, 0x8009030e | 0, 0xc0000072]) assert.equal(isSspiSuccess(s), false, s.toString(16));
});

test('a failure names the call, the status and Windows\' text, or the name alone where there is none', () => {
  assert.equal(
    sspiFailureText('InitializeSecurityContextW', 0x8009030e, 'No credentials are available in the security package'),
    'InitializeSecurityContextW failed with SEC_E_NO_CREDENTIALS (0x8009030E): No credentials are available in the security package',
  );
  assert.equal(sspiFailureText('AcquireCredentialsHandleW', 0x8009030e | 0, undefined), 'AcquireCredentialsHandleW failed with SEC_E_NO_CREDENTIALS (0x8009030E)');
  assert.equal(sspiFailureText('InitializeSecurityContextW', 0x80090999, undefined), 'InitializeSecurityContextW failed with 0x80090999');
});

test('a TimeStamp (FILETIME) becomes Unix time; "never" and zero become undefined', () => {
  // 2026-12-07T00:00:00Z
  const unix = Date.UTC(2026, 11, 7);
  const fileTime = (BigInt(unix) + 11_644_473_600_000n) * 10_000n;
  assert.equal(fileTimeToUnixMs(fileTime), unix);
  assert.equal(fileTimeToUnixMs(Number(fileTime)), unix);
  assert.equal(fileTimeToUnixMs(0x7fff_ffff_ffff_ffffn), undefined);
  assert.equal(fileTimeToUnixMs(0x7fff_ffff_ff36_d5a6n), undefined);
  assert.equal(fileTimeToUnixMs(0), undefined);
});

test('the structs have sspi.h\'s 64-bit layout', () => {
  const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
  const t = sspiTypes(koffi);
  assert.equal(sspiTypes(koffi), t, 'declared once per koffi module');
  const layout = (type: typeof t.SecHandle): Record<string, number> => ({
    size: koffi.sizeof(type),
    ...Object.fromEntries(Object.keys(type.members ?? {}).map((m) => [m, koffi.offsetof(type, m)])),
  });
  assert.deepEqual(layout(t.SecHandle), { size: 16, dwLower: 0, dwUpper: 8 });
  assert.deepEqual(layout(t.SecBuffer), { size: 16, cbBuffer: 0, BufferType: 4, pvBuffer: 8 });
  assert.deepEqual(layout(t.SecBufferDesc), { size: 16, ulVersion: 0, cBuffers: 4, pBuffers: 8 });
  assert.deepEqual(layout(t.SecPkgInfoW), { size: 32, fCapabilities: 0, wVersion: 4, wRPCID: 6, cbMaxToken: 8, Name: 16, Comment: 24 });
  assert.deepEqual(layout(t.AuthIdentityW), { size: 48, User: 0, UserLength: 8, Domain: 16, DomainLength: 24, Password: 32, PasswordLength: 40, Flags: 44 });
});
