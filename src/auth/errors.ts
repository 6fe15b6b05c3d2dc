import { JaatoProxyError } from '../errors.js';
import { kerberosPlatform, type KerberosProblem } from '../config/platform.js';

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
  constructor(code: string, spn: string, advice: string, gssMessage: string, cause?: unknown, detail: { remedy?: string; api?: string } = {}) {
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

export class KerberosAddonMissingError extends KerberosError {
  constructor(spn: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    const loader = cause instanceof Error ? cause.message.split('\n')[0] ?? '' : '';
    // An optional peer: absent, or present without its native binary (npm 11+ skips install scripts
    // it was not told to allow), call for different remedies.
    const absent = (cause as { code?: string } | undefined)?.code === 'ERR_MODULE_NOT_FOUND' && /['"]kerberos['"]/.test(loader);
    const what = absent
      ? 'the optional peer dependency "kerberos" is not installed (install it beside jaato-proxy)'
      : 'the "kerberos" package did not load. If npm skipped its install script, allow it and build it: `npm install-scripts approve kerberos && npm rebuild kerberos`';
    const [advice, , , detail] = about('addonMissing', what, platform, loader, cause);
    super('ERR_JAATO_KERBEROS_ADDON_MISSING', spn, advice, loader, cause, { ...detail, api: 'loader' });
  }
}

export class KerberosNoCredentialsError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
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

export class KerberosUnknownSpnError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    super('ERR_JAATO_KERBEROS_UNKNOWN_SPN', spn, ...about('unknownSpn', 'the KDC does not know this service principal', platform, gss, cause));
  }
}

export class KerberosClockSkewError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    const what = "this machine's clock and the KDC's differ by more than Kerberos accepts";
    super('ERR_JAATO_KERBEROS_CLOCK_SKEW', spn, ...about('clockSkew', what, platform, gss, cause));
  }
}

/**
 * The texts each library reports, by problem, checked in this order: the specific (clock, expiry, KDC,
 * unknown target) before "no credentials", because GSSAPI puts a generic major status ("No credentials
 * were supplied…") in front of the specific minor one. The addon formats errors as `major: minor`
 * (GSSAPI, `kerberos/src/unix/kerberos_gss.cc` gss_error_result) or `Function: FormatMessage text`
 * (SSPI, `kerberos/src/win32/kerberos_sspi.cc` sspi_error_result): the SEC_E_* name and number are
 * not in the text, so the English message is what is matched; the names and numbers are matched too,
 * for wrappers that add them. Sources per row are in test/auth/errors.test.ts.
 */
const RULES: ReadonlyArray<readonly [Exclude<KerberosProblem, 'other' | 'addonMissing'>, RegExp]> = [
  ['clockSkew', /clock skew too great|time skew \(\d+\) larger than max|clocks on the client and server machines are skewed|SEC_E_TIME_SKEW|0x80090324/i],
  ['expired', /ticket expired|referenced credentials? ha(?:s|ve) expired|credentials have expired|context has expired|SEC_E_CONTEXT_EXPIRED|0x80090317/i],
  ['kdcUnreachable', /cannot contact any kdc|cannot (?:find|resolve) kdc|unable to reach any kdc|kdc.*unreachable|no authority could be contacted|SEC_E_NO_AUTHENTICATING_AUTHORITY|0x80090311/i],
  ['unknownSpn', /server .*not found in kerberos database|server \(.*\) unknown|unknown server|specified target is unknown|target principal name is incorrect|SEC_E_TARGET_UNKNOWN|0x80090303|SEC_E_WRONG_PRINCIPAL|0x80090322/i],
  [
    'noCredentials',
    /no credentials were supplied|no kerberos credentials|can't find client principal|no credentials cache (?:file )?found|credentials cache .*not found|cannot find mechanisms|no credentials are available in the security package|the logon attempt failed|SEC_E_NO_CREDENTIALS|0x8009030e|SEC_E_LOGON_DENIED|0x8009030c/i,
  ],
];

const CLASSES = {
  clockSkew: KerberosClockSkewError,
  expired: KerberosTicketExpiredError,
  kdcUnreachable: KerberosKdcUnreachableError,
  unknownSpn: KerberosUnknownSpnError,
  noCredentials: KerberosNoCredentialsError,
} as const;

/**
 * Maps a GSSAPI (MIT, Heimdal) or SSPI failure to the typed error that says what to do about it, with
 * the remedy for `platform` (the one the library runs on, `process.platform` by default).
 */
export function classifyGssError(spn: string, error: unknown, platform: NodeJS.Platform = process.platform): KerberosError {
  const text = error instanceof Error ? error.message : String(error);
  for (const [problem, pattern] of RULES) if (pattern.test(text)) return new CLASSES[problem](spn, text, error, platform);
  const p = kerberosPlatform(platform);
  return new KerberosError('ERR_JAATO_KERBEROS', spn, `${p.api} failed. ${p.remedies.other}`, text, error, { remedy: p.remedies.other, api: p.api });
}
