import type { NativeFailureKind } from '../provider.js';

/**
 * SSPI's SECURITY_STATUS values that this binding names or classifies (winerror.h), plus the NTSTATUS
 * and HRESULT_FROM_WIN32 forms that Windows' Kerberos package passes through for account answers from
 * a domain controller. Pure: no koffi here, so the table is tested on any platform.
 */
export const SEC_E_OK = 0;
export const SEC_I_CONTINUE_NEEDED = 0x00090312;
export const SEC_I_COMPLETE_NEEDED = 0x00090313;
export const SEC_I_COMPLETE_AND_CONTINUE = 0x00090314;

/** Where a status came from: a reply token that does not verify is the server's failure, not ours. */
export type SspiPhase = 'credentials' | 'first-token' | 'reply-token';

interface StatusRow {
  readonly name: string;
  readonly kind: NativeFailureKind;
}

const STATUS: ReadonlyMap<number, StatusRow> = new Map<number, StatusRow>([
  [0x00000000, { name: 'SEC_E_OK', kind: 'other' }],
  [0x00090312, { name: 'SEC_I_CONTINUE_NEEDED', kind: 'other' }],
  [0x00090313, { name: 'SEC_I_COMPLETE_NEEDED', kind: 'other' }],
  [0x00090314, { name: 'SEC_I_COMPLETE_AND_CONTINUE', kind: 'other' }],
  [0x80090300, { name: 'SEC_E_INSUFFICIENT_MEMORY', kind: 'other' }],
  [0x80090301, { name: 'SEC_E_INVALID_HANDLE', kind: 'other' }],
  [0x80090302, { name: 'SEC_E_UNSUPPORTED_FUNCTION', kind: 'other' }],
  // The KDC does not know the service principal (KDC_ERR_S_PRINCIPAL_UNKNOWN).
  [0x80090303, { name: 'SEC_E_TARGET_UNKNOWN', kind: 'unknown-service' }],
  [0x80090304, { name: 'SEC_E_INTERNAL_ERROR', kind: 'other' }],
  [0x80090305, { name: 'SEC_E_SECPKG_NOT_FOUND', kind: 'library-missing' }],
  [0x80090308, { name: 'SEC_E_INVALID_TOKEN', kind: 'other' }],
  // The KDC or the LSA refused the user's own credentials (a changed password, a revoked logon): not
  // proof of a disabled account, which Windows reports by its own status below.
  [0x8009030c, { name: 'SEC_E_LOGON_DENIED', kind: 'no-credentials' }],
  [0x8009030d, { name: 'SEC_E_UNKNOWN_CREDENTIALS', kind: 'no-credentials' }],
  [0x8009030e, { name: 'SEC_E_NO_CREDENTIALS', kind: 'no-credentials' }],
  [0x8009030f, { name: 'SEC_E_MESSAGE_ALTERED', kind: 'other' }],
  [0x80090310, { name: 'SEC_E_OUT_OF_SEQUENCE', kind: 'other' }],
  // No domain controller answered (KDC unreachable, or no KDC for the realm).
  [0x80090311, { name: 'SEC_E_NO_AUTHENTICATING_AUTHORITY', kind: 'kdc-unreachable' }],
  [0x80090316, { name: 'SEC_E_BAD_PKGID', kind: 'library-missing' }],
  [0x80090317, { name: 'SEC_E_CONTEXT_EXPIRED', kind: 'credentials-expired' }],
  [0x80090320, { name: 'SEC_E_INCOMPLETE_CREDENTIALS', kind: 'no-credentials' }],
  [0x80090321, { name: 'SEC_E_BUFFER_TOO_SMALL', kind: 'other' }],
  // The service ticket's key is not the proxy's (KRB_AP_ERR_MODIFIED): wrong SPN, or a stale keytab.
  [0x80090322, { name: 'SEC_E_WRONG_PRINCIPAL', kind: 'wrong-key-version' }],
  [0x80090324, { name: 'SEC_E_TIME_SKEW', kind: 'clock-skew' }],
  [0x80090331, { name: 'SEC_E_ALGORITHM_MISMATCH', kind: 'no-common-enctype' }],
  [0x80090334, { name: 'SEC_E_NO_TGT_REPLY', kind: 'kdc-unreachable' }],
  [0x80090335, { name: 'SEC_E_NO_IP_ADDRESSES', kind: 'kdc-unreachable' }],
  [0x80090336, { name: 'SEC_E_WRONG_CREDENTIAL_HANDLE', kind: 'other' }],
  [0x80090337, { name: 'SEC_E_CRYPTO_SYSTEM_INVALID', kind: 'no-common-enctype' }],
  [0x80090338, { name: 'SEC_E_MAX_REFERRALS_EXCEEDED', kind: 'unknown-service' }],
  [0x80090339, { name: 'SEC_E_MUST_BE_KDC', kind: 'other' }],
  [0x8009033a, { name: 'SEC_E_STRONG_CRYPTO_NOT_SUPPORTED', kind: 'no-common-enctype' }],
  [0x8009033b, { name: 'SEC_E_TOO_MANY_PRINCIPALS', kind: 'unknown-service' }],
  [0x8009033e, { name: 'SEC_E_SMARTCARD_LOGON_REQUIRED', kind: 'account-disabled' }],
  [0x80090340, { name: 'SEC_E_KDC_INVALID_REQUEST', kind: 'other' }],
  [0x80090341, { name: 'SEC_E_KDC_UNABLE_TO_REFER', kind: 'unknown-service' }],
  [0x80090342, { name: 'SEC_E_KDC_UNKNOWN_ETYPE', kind: 'no-common-enctype' }],
  [0x80090343, { name: 'SEC_E_UNSUPPORTED_PREAUTH', kind: 'other' }],
  [0x80090346, { name: 'SEC_E_BAD_BINDINGS', kind: 'other' }],
  [0x80090348, { name: 'SEC_E_NO_KERB_KEY', kind: 'no-credentials' }],
  [0x8009035d, { name: 'SEC_E_INVALID_PARAMETER', kind: 'other' }],
  [0x8009035e, { name: 'SEC_E_DELEGATION_POLICY', kind: 'other' }],
  [0x8009035f, { name: 'SEC_E_POLICY_NLTM_ONLY', kind: 'other' }],
  [0x80090361, { name: 'SEC_E_NO_CONTEXT', kind: 'other' }],
  [0x80090363, { name: 'SEC_E_MUTUAL_AUTH_FAILED', kind: 'mutual-auth-failed' }],
  // NTSTATUS values the Kerberos package returns as they are for a DC's account answers.
  [0xc000005e, { name: 'STATUS_NO_LOGON_SERVERS', kind: 'kdc-unreachable' }],
  [0xc0000064, { name: 'STATUS_NO_SUCH_USER', kind: 'no-credentials' }],
  [0xc000006a, { name: 'STATUS_WRONG_PASSWORD', kind: 'no-credentials' }],
  [0xc000006d, { name: 'STATUS_LOGON_FAILURE', kind: 'no-credentials' }],
  [0xc000006e, { name: 'STATUS_ACCOUNT_RESTRICTION', kind: 'account-disabled' }],
  [0xc000006f, { name: 'STATUS_INVALID_LOGON_HOURS', kind: 'account-disabled' }],
  [0xc0000070, { name: 'STATUS_INVALID_WORKSTATION', kind: 'account-disabled' }],
  [0xc0000071, { name: 'STATUS_PASSWORD_EXPIRED', kind: 'password-expired' }],
  [0xc0000072, { name: 'STATUS_ACCOUNT_DISABLED', kind: 'account-disabled' }],
  [0xc0000133, { name: 'STATUS_TIME_DIFFERENCE_AT_DC', kind: 'clock-skew' }],
  [0xc0000193, { name: 'STATUS_ACCOUNT_EXPIRED', kind: 'account-expired' }],
  [0xc0000224, { name: 'STATUS_PASSWORD_MUST_CHANGE', kind: 'password-expired' }],
  [0xc0000234, { name: 'STATUS_ACCOUNT_LOCKED_OUT', kind: 'account-disabled' }],
  [0xc00002fd, { name: 'STATUS_KDC_UNKNOWN_ETYPE', kind: 'no-common-enctype' }],
  // The same answers as HRESULT_FROM_WIN32 (0x8007xxxx), as some callers of the LSA see them.
  [0x8007052e, { name: 'ERROR_LOGON_FAILURE', kind: 'no-credentials' }],
  [0x8007052f, { name: 'ERROR_ACCOUNT_RESTRICTION', kind: 'account-disabled' }],
  [0x80070530, { name: 'ERROR_INVALID_LOGON_HOURS', kind: 'account-disabled' }],
  [0x80070531, { name: 'ERROR_INVALID_WORKSTATION', kind: 'account-disabled' }],
  [0x80070532, { name: 'ERROR_PASSWORD_EXPIRED', kind: 'password-expired' }],
  [0x80070533, { name: 'ERROR_ACCOUNT_DISABLED', kind: 'account-disabled' }],
  [0x80070701, { name: 'ERROR_ACCOUNT_EXPIRED', kind: 'account-expired' }],
  [0x80070773, { name: 'ERROR_PASSWORD_MUST_CHANGE', kind: 'password-expired' }],
  [0x80070775, { name: 'ERROR_ACCOUNT_LOCKED_OUT', kind: 'account-disabled' }],
]);

/** Statuses that, on a reply token, mean the proxy's answer does not prove it holds the service key. */
const REPLY_REJECTED = new Set([0x80090308, 0x8009030f, 0x80090310, 0x80090322, 0x80090363]);

/** `SEC_E_NO_CREDENTIALS`, or `0x8009ABCD` for a status this table does not know. */
export function sspiStatusName(status: number): string {
  const s = status >>> 0;
  return STATUS.get(s)?.name ?? `0x${s.toString(16).toUpperCase().padStart(8, '0')}`;
}

/** `0x8009030E`: the status as Windows tools print it. */
export function sspiStatusHex(status: number): string {
  return `0x${(status >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** True for SEC_E_OK and the SEC_I_ informational statuses; every other value is a failure. */
export function isSspiSuccess(status: number): boolean {
  return (status >>> 0) < 0x80000000;
}

/**
 * What a failed SSPI call means, by its status alone. A reply token the context refuses (an invalid,
 * altered or foreign token on the second leg) is a failed mutual authentication: the proxy could not
 * prove it is the service the ticket was for.
 */
export function classifySspiStatus(status: number, phase: SspiPhase): NativeFailureKind {
  const s = status >>> 0;
  if (phase === 'reply-token' && REPLY_REJECTED.has(s)) return 'mutual-auth-failed';
  return STATUS.get(s)?.kind ?? 'other';
}
