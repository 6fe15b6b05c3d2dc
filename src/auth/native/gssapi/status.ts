import type { NativeFailureKind, SecurityLibraryInfo } from '../provider.js';

/** GSSAPI major status fields (RFC 2744 3.9.1): routine errors in bits 16-23, supplementary info in 0-15. */
export const GSS_S = {
  COMPLETE: 0,
  CONTINUE_NEEDED: 1,
  BAD_MECH: 1 << 16,
  BAD_NAME: 2 << 16,
  BAD_NAMETYPE: 3 << 16,
  BAD_SIG: 6 << 16,
  NO_CRED: 7 << 16,
  NO_CONTEXT: 8 << 16,
  DEFECTIVE_TOKEN: 9 << 16,
  DEFECTIVE_CREDENTIAL: 10 << 16,
  CREDENTIALS_EXPIRED: 11 << 16,
  CONTEXT_EXPIRED: 12 << 16,
  FAILURE: 13 << 16,
  UNAVAILABLE: 16 << 16,
} as const;

/** Whether a major status is an error (calling or routine error bits set). */
export function gssError(major: number): boolean {
  return (major & 0xffff0000) !== 0;
}

/**
 * The krb5 com_err table (`krb5_err.et`), shared by MIT and Heimdal: base -1765328384 (0x96c73a00)
 * plus the offset. The GSS krb5 mechanism returns these as its minor status.
 */
const KRB5_BASE = 0x96c73a00;
export const KRB5 = {
  KDC_ERR_NAME_EXP: KRB5_BASE + 1,
  KDC_ERR_C_PRINCIPAL_UNKNOWN: KRB5_BASE + 6,
  KDC_ERR_S_PRINCIPAL_UNKNOWN: KRB5_BASE + 7,
  KDC_ERR_POLICY: KRB5_BASE + 12,
  KDC_ERR_ETYPE_NOSUPP: KRB5_BASE + 14,
  KDC_ERR_CLIENT_REVOKED: KRB5_BASE + 18,
  KDC_ERR_TGT_REVOKED: KRB5_BASE + 20,
  KDC_ERR_KEY_EXP: KRB5_BASE + 23,
  KRB_AP_ERR_TKT_EXPIRED: KRB5_BASE + 32,
  KRB_AP_ERR_TKT_NYV: KRB5_BASE + 33,
  KRB_AP_ERR_SKEW: KRB5_BASE + 37,
  KRB_AP_ERR_MODIFIED: KRB5_BASE + 41,
  KRB_AP_ERR_BADKEYVER: KRB5_BASE + 44,
  KRB_AP_ERR_MUT_FAIL: KRB5_BASE + 46,
  CC_NOTFOUND: KRB5_BASE + 141,
  CC_END: KRB5_BASE + 142,
  NO_TKT_SUPPLIED: KRB5_BASE + 143,
  KDCREP_SKEW: KRB5_BASE + 148,
  PROG_ETYPE_NOSUPP: KRB5_BASE + 150,
  REALM_UNKNOWN: KRB5_BASE + 154,
  KDC_UNREACH: KRB5_BASE + 156,
  FCC_PERM: KRB5_BASE + 194,
  FCC_NOFILE: KRB5_BASE + 195,
  CC_FORMAT: KRB5_BASE + 199,
  CC_NOT_KTYPE: KRB5_BASE + 200,
  REALM_CANT_RESOLVE: KRB5_BASE + 220,
} as const;

/** Whether `minor` is in the krb5 com_err table (256 codes from the base). */
export function isKrb5Code(minor: number): boolean {
  const offset = (minor >>> 0) - KRB5_BASE;
  return offset >= 0 && offset < 256;
}

/** The krb5 minor codes we tell apart, by kind. Anything else in the table is `other`. */
const BY_MINOR: ReadonlyMap<number, NativeFailureKind> = new Map<number, NativeFailureKind>([
  [KRB5.KDC_ERR_NAME_EXP, 'account-expired'], // "Client's entry in database has expired"
  [KRB5.KDC_ERR_POLICY, 'account-disabled'], // "KDC policy rejects request": Samba AD's TGS answer for a disabled account
  [KRB5.KDC_ERR_CLIENT_REVOKED, 'account-disabled'], // "Client's credentials have been revoked": disabled or locked out
  [KRB5.KDC_ERR_TGT_REVOKED, 'account-disabled'],
  [KRB5.KDC_ERR_KEY_EXP, 'password-expired'],
  [KRB5.KDC_ERR_S_PRINCIPAL_UNKNOWN, 'unknown-service'],
  [KRB5.KDC_ERR_ETYPE_NOSUPP, 'no-common-enctype'],
  [KRB5.CC_NOT_KTYPE, 'no-common-enctype'], // "No credentials found with supported encryption types": krb5.conf allows none the cache holds
  [KRB5.PROG_ETYPE_NOSUPP, 'no-common-enctype'],
  [KRB5.KRB_AP_ERR_TKT_EXPIRED, 'credentials-expired'],
  [KRB5.KRB_AP_ERR_TKT_NYV, 'clock-skew'], // a ticket from the future: the clocks differ
  [KRB5.KRB_AP_ERR_SKEW, 'clock-skew'],
  [KRB5.KDCREP_SKEW, 'clock-skew'],
  [KRB5.KRB_AP_ERR_BADKEYVER, 'wrong-key-version'],
  [KRB5.KRB_AP_ERR_MODIFIED, 'wrong-key-version'], // the proxy could not decrypt: its key is not the KDC's
  [KRB5.KRB_AP_ERR_MUT_FAIL, 'mutual-auth-failed'],
  [KRB5.CC_NOTFOUND, 'no-credentials'],
  [KRB5.CC_END, 'no-credentials'],
  [KRB5.NO_TKT_SUPPLIED, 'no-credentials'],
  [KRB5.FCC_NOFILE, 'no-credentials'],
  [KRB5.FCC_PERM, 'no-credentials'],
  [KRB5.CC_FORMAT, 'no-credentials'],
  [KRB5.KDC_UNREACH, 'kdc-unreachable'],
  [KRB5.REALM_CANT_RESOLVE, 'kdc-unreachable'],
  [KRB5.REALM_UNKNOWN, 'kdc-unreachable'],
]);

/**
 * What a failed GSSAPI call means, from its major and minor status alone (never the text): the krb5
 * minor code when it is one we know, else the major routine error. `family` matters for one case:
 * Heimdal's SPNEGO reports "no credentials" as GSS_S_BAD_MECH with minor 0 (it found no mechanism it
 * could use), where MIT says GSS_S_NO_CRED.
 */
export function gssFailureKind(major: number, minor: number, family: SecurityLibraryInfo['family']): NativeFailureKind {
  const byMinor = BY_MINOR.get(minor >>> 0);
  if (byMinor) return byMinor;
  const routine = (major >>> 0) & 0x00ff0000;
  switch (routine) {
    case GSS_S.NO_CRED:
      return 'no-credentials';
    case GSS_S.CREDENTIALS_EXPIRED:
    case GSS_S.CONTEXT_EXPIRED:
      return 'credentials-expired';
    case GSS_S.BAD_MECH:
      return minor === 0 && family !== 'mit' ? 'no-credentials' : 'other';
    case GSS_S.BAD_SIG:
    case GSS_S.DEFECTIVE_TOKEN:
      return 'mutual-auth-failed';
    default:
      return 'other';
  }
}

/** A library's status text, tidied: Heimdal's carry a leading space and a trailing period. */
export function tidyStatusText(text: string): string {
  return text.trim().replace(/\.$/, '');
}
