import { JaatoProxyError, type JaatoProxyErrorCode } from '../errors.js';
import { kerberosPlatform, type KerberosProblem } from '../config/platform.js';
import { NativeSecurityFailure, type NativeFailureKind } from './native/provider.js';

/**
 * A Kerberos/SPNEGO failure. Each subclass has its own `code` and a message that says what to do on the
 * platform it happened on; `gssMessage` keeps the library's text for diagnosis (it names principals,
 * never holds a token).
 */
export class KerberosError extends JaatoProxyError {
  readonly spn: string;
  readonly gssMessage: string;
  /** What to do about it, for the platform it happened on (the message says it too). */
  readonly remedy: string | undefined;

  /**
   * `advice` is the problem and its remedy; `gssMessage` is shown after it, labelled with the library
   * (`GSSAPI` or `SSPI`). `remedy` alone is kept for tools such as doctor.
   */
  constructor(code: JaatoProxyErrorCode, spn: string, advice: string, gssMessage: string, cause?: unknown, detail: { remedy?: string; api?: string } = {}) {
    const text = gssMessage.trim(); // SSPI's FormatMessage texts end in CRLF
    super(code, `Kerberos could not make a token for ${spn}: ${advice}${text ? ` (${detail.api ?? 'GSSAPI'}: ${text})` : ''}`, { cause });
    this.spn = spn;
    this.gssMessage = text;
    this.remedy = detail.remedy;
  }
}

type Detail = { remedy: string; api: string };

/** The constructor arguments after `code, spn`: the problem sentence followed by the platform's remedy. */
function about(problem: KerberosProblem, what: string, platform: NodeJS.Platform, gss: string, cause: unknown): [string, string, unknown, Detail] {
  const p = kerberosPlatform(platform);
  const remedy = p.remedies[problem];
  return [`${what}. ${remedy}`, gss, cause, { remedy, api: p.api }];
}

/**
 * No security library to load (GSSAPI on Linux and macOS, SSPI on Windows): the message names
 * JAATO_GSSAPI_LIBRARY and every library tried, and the remedy the package that provides one.
 */
export class KerberosLibraryMissingError extends KerberosError {
  constructor(spn: string, tried: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    const [advice, , , detail] = about('libraryMissing', 'no Kerberos library could be loaded', platform, tried, cause);
    super('ERR_JAATO_KERBEROS_LIBRARY_MISSING', spn, advice, tried, cause, { ...detail, api: 'loader' });
  }
}

export class KerberosNoCredentialsError extends KerberosError {
  /** `openCache`: a FILE: cache others can read, which Heimdal treats as no cache at all. */
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform, openCache?: string) {
    if (openCache) {
      const remedy = `\`chmod 600 ${openCache}\` (kinit writes it so)`;
      super('ERR_JAATO_KERBEROS_NO_CREDENTIALS', spn, `Heimdal refuses the ticket cache ${openCache}: other users can read it. ${remedy}`, gss, cause, { remedy, api: 'GSSAPI' });
      return;
    }
    super('ERR_JAATO_KERBEROS_NO_CREDENTIALS', spn, ...about('noCredentials', 'there is no Kerberos ticket', platform, gss, cause));
  }
}

export class KerberosTicketExpiredError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    super('ERR_JAATO_KERBEROS_TICKET_EXPIRED', spn, ...about('expired', 'the Kerberos ticket has expired', platform, gss, cause));
  }
}

export class KerberosKdcUnreachableError extends KerberosError {
  /** Set when the token was given up after this many milliseconds without an answer (`tokenTimeout`). */
  readonly timeoutMs: number | undefined;
  /**
   * `timeout`: the token was given up after `ms` without an answer; `stillWaiting` when an earlier
   * attempt for the same service timed out and has not ended, so this one did not wait again.
   */
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform, timeout?: { ms: number; stillWaiting?: boolean }) {
    let what = 'no KDC could be reached to get a service ticket';
    if (timeout) {
      what = `no answer from the Kerberos library within ${timeout.ms} ms (tokenTimeout): a KDC that accepts connections and never answers, or a very slow one`;
      if (timeout.stillWaiting) what += '; an earlier attempt for this service is still waiting for the KDC, so this one did not wait again';
    }
    super('ERR_JAATO_KERBEROS_KDC_UNREACHABLE', spn, ...about('kdcUnreachable', what, platform, gss, cause));
    this.timeoutMs = timeout?.ms;
  }
}

/** `HTTP@host` or `HTTP/host@REALM` → `host`, lower case: what DNS rewriting changes. */
function hostOf(name: string): string {
  const at = name.indexOf('@');
  const slash = name.indexOf('/');
  const host = slash >= 0 && (at < 0 || slash < at) ? name.slice(slash + 1, at > slash ? at : undefined) : name.slice(at + 1);
  return host.toLowerCase().replace(/\.$/, '');
}

export class KerberosUnknownSpnError extends KerberosError {
  /** The principal the library asked the KDC for, when it differs from `spn` (DNS canonicalization); else undefined. */
  readonly requestedPrincipal: string | undefined;

  /** `used`: the name the library actually asked for, after its DNS canonicalization, when known. */
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform, used?: string) {
    const p = kerberosPlatform(platform);
    const renamed = used !== undefined && hostOf(used) !== hostOf(spn) ? used : undefined;
    const principal = renamed ?? `HTTP/${hostOf(spn)}`;
    const what = renamed
      ? `the KDC does not know ${renamed}, the name the Kerberos library asked for instead of ${spn}`
      : 'the KDC does not know this service principal';
    const remedy = renamed ? p.remedies.renamedSpn : `${p.remedies.unknownSpn}; ${p.askKdc(principal.replace(/@.*$/, ''))}`;
    super('ERR_JAATO_KERBEROS_UNKNOWN_SPN', spn, `${what}. ${remedy}`, gss, cause, { remedy, api: p.api });
    this.requestedPrincipal = renamed;
  }
}

export class KerberosClockSkewError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    const what = "this machine's clock and the KDC's differ by more than Kerberos accepts";
    super('ERR_JAATO_KERBEROS_CLOCK_SKEW', spn, ...about('clockSkew', what, platform, gss, cause));
  }
}

export class KerberosAccountDisabledError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    super('ERR_JAATO_KERBEROS_ACCOUNT_DISABLED', spn, ...about('accountDisabled', 'the KDC refuses the account (disabled or locked)', platform, gss, cause));
  }
}

export class KerberosAccountExpiredError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    super('ERR_JAATO_KERBEROS_ACCOUNT_EXPIRED', spn, ...about('accountExpired', 'the account has expired', platform, gss, cause));
  }
}

export class KerberosPasswordExpiredError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    super('ERR_JAATO_KERBEROS_PASSWORD_EXPIRED', spn, ...about('passwordExpired', "the account's password has expired", platform, gss, cause));
  }
}

export class KerberosEnctypeError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    super('ERR_JAATO_KERBEROS_NO_COMMON_ENCTYPE', spn, ...about('noCommonEnctype', 'no encryption type is supported by both sides', platform, gss, cause));
  }
}

export class KerberosKeyVersionError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    super('ERR_JAATO_KERBEROS_KEY_VERSION', spn, ...about('wrongKeyVersion', "the proxy's key is not the one the KDC used", platform, gss, cause));
  }
}

type Simple = new (spn: string, gss: string, cause?: unknown, platform?: NodeJS.Platform) => KerberosError;

/** Each failure kind (classified from status codes by the binding) to its error; the rest are generic. */
const BY_KIND: Partial<Record<NativeFailureKind, Simple>> = {
  'no-credentials': KerberosNoCredentialsError,
  'credentials-expired': KerberosTicketExpiredError,
  'kdc-unreachable': KerberosKdcUnreachableError,
  'clock-skew': KerberosClockSkewError,
  'account-disabled': KerberosAccountDisabledError,
  'account-expired': KerberosAccountExpiredError,
  'password-expired': KerberosPasswordExpiredError,
  'no-common-enctype': KerberosEnctypeError,
  'wrong-key-version': KerberosKeyVersionError,
};

/**
 * Maps a failure of the security library to the typed error that says what to do about it, with the
 * remedy for `platform` (the one the library runs on, `process.platform` by default). The kind comes
 * from status codes (see native/gssapi/status.ts); the library's text is kept for diagnosis only.
 * `used`: for an unknown service, the name the library actually asked for (see KerberosUnknownSpnError);
 * `openCache`: for no credentials, a FILE: cache Heimdal refused because others can read it.
 */
export function classifyGssError(spn: string, error: unknown, platform: NodeJS.Platform = process.platform, used?: string, openCache?: string): KerberosError {
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof NativeSecurityFailure) {
    if (error.kind === 'library-missing') return new KerberosLibraryMissingError(spn, text, error, platform);
    if (error.kind === 'unknown-service') return new KerberosUnknownSpnError(spn, text, error, platform, used);
    if (error.kind === 'no-credentials') return new KerberosNoCredentialsError(spn, text, error, platform, openCache);
    const Class = BY_KIND[error.kind];
    if (Class) return new Class(spn, text, error, platform);
  }
  const p = kerberosPlatform(platform);
  return new KerberosError('ERR_JAATO_KERBEROS', spn, `${p.api} failed. ${p.remedies.other}`, text, error, { remedy: p.remedies.other, api: p.api });
}
