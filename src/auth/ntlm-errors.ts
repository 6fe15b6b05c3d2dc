import { JaatoProxyError, type JaatoProxyErrorCode } from '../errors.js';
import { NativeSecurityFailure } from './native/provider.js';

/**
 * An NTLM failure on our side (the proxy's refusal is the transport's 407 error). The message names the
 * proxy host and the remedy; the library's own text follows, which never holds a token or a password.
 */
export class NtlmError extends JaatoProxyError {
  readonly proxyHost: string;
  /** The security library's text (GSSAPI's or SSPI's), for diagnosis. */
  readonly libraryMessage: string;
  readonly remedy: string | undefined;

  constructor(code: JaatoProxyErrorCode, proxyHost: string, advice: string, libraryMessage: string, cause?: unknown, remedy?: string) {
    const text = libraryMessage.trim();
    super(code, `NTLM could not answer the proxy ${proxyHost}: ${advice}${text ? ` (${text})` : ''}`, { cause });
    this.proxyHost = proxyHost;
    this.libraryMessage = text;
    this.remedy = remedy;
  }
}

const UNAVAILABLE: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'install Samba\'s ntlm_auth (Debian/Ubuntu: `apt install winbind`; Fedora: `dnf install samba-winbind-clients`), which jaato-proxy runs outside Node\'s process, or GSSAPI\'s NTLM mechanism (Debian/Ubuntu: `apt install gss-ntlmssp`; Fedora: `dnf install gssntlmssp`)',
  darwin: 'install Samba\'s ntlm_auth (Homebrew: `brew install samba`) and put it on PATH or in JAATO_NTLM_AUTH, or gss-ntlmssp for the GSSAPI library jaato-proxy loads (JAATO_GSSAPI_LIBRARY), or use Negotiate (Kerberos)',
  win32: 'SSPI\'s NTLM package is missing or disabled by policy ("Network security: Restrict NTLM"): ask the administrators, or use Negotiate (Kerberos)',
};

const NO_CREDENTIALS: Partial<Record<NodeJS.Platform, string>> = {
  win32: 'sign in to Windows with a domain account (NTLM uses the logged-on user), or put `DOMAIN\\user:password` in the proxy URL',
};
const NO_CREDENTIALS_UNIX =
  'put `DOMAIN\\user:password` in the proxy URL (percent-encode the backslash as %5C), or name a file of `DOMAIN:user:password` lines in NTLM_USER_FILE (the first line is used; chmod 600), or log in through winbind with cached credentials (ntlm_auth --use-cached-creds)';

/**
 * Samba's `ntlm_auth` helper, which makes the NTLM messages outside Node's process, could not: it did
 * not start, did not answer in time, died, or said something we do not understand. Names the binary
 * and the package that brings it; `helperMessage` is its own text (a `BH` line, its stderr) with any
 * secret and any NTLM message taken out.
 */
export class NtlmHelperError extends NtlmError {
  /** The helper that was run (a path). */
  readonly binary: string;
  constructor(proxyHost: string, binary: string, what: string, helperMessage: string, cause?: unknown) {
    const remedy = `check ${binary} (Samba's ntlm_auth, Debian/Ubuntu package winbind; JAATO_NTLM_AUTH names another, \`off\` uses GSSAPI's gss-ntlmssp in-process instead)`;
    super('ERR_JAATO_NTLM_HELPER', proxyHost, `the NTLM helper ${binary} ${what}: ${remedy}`, helperMessage, cause, remedy);
    this.binary = binary;
  }
}

const SEC_E_SECPKG_NOT_FOUND = 0x80090305;

/** No NTLM mechanism to use: gss-ntlmssp not installed (GSSAPI), or the package disabled (SSPI). */
export class NtlmUnavailableError extends NtlmError {
  constructor(proxyHost: string, text: string, cause?: unknown, platform: NodeJS.Platform = process.platform, why?: string) {
    const remedy = why ?? UNAVAILABLE[platform] ?? UNAVAILABLE.linux;
    super('ERR_JAATO_NTLM_UNAVAILABLE', proxyHost, `no NTLM mechanism is available: ${remedy}`, text, cause, remedy);
  }
}

/** NTLM found no credentials: no logged-on domain user (SSPI), no NTLM_USER_FILE/winbind and none given (GSSAPI). */
export class NtlmNoCredentialsError extends NtlmError {
  constructor(proxyHost: string, text: string, cause?: unknown, platform: NodeJS.Platform = process.platform) {
    const remedy = NO_CREDENTIALS[platform] ?? NO_CREDENTIALS_UNIX;
    super('ERR_JAATO_NTLM_NO_CREDENTIALS', proxyHost, `there are no NTLM credentials: ${remedy}`, text, cause, remedy);
  }
}

/**
 * The typed error for a failed NTLM step. `BAD_MECH` (GSSAPI major 1<<16) is a mechanism the library
 * does not know: gss-ntlmssp is not installed. Classified by status code, never by the library's text.
 */
export function classifyNtlmError(proxyHost: string, error: unknown, platform: NodeJS.Platform = process.platform): NtlmError {
  if (error instanceof NtlmError) return error;
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof NativeSecurityFailure) {
    const api = error.call.startsWith('gss_') ? 'GSSAPI' : 'SSPI';
    const labelled = `${api}: ${text}`;
    const noMechanism = api === 'GSSAPI' ? (error.major & 0x00ff0000) === 1 << 16 : error.major === SEC_E_SECPKG_NOT_FOUND;
    if (error.kind === 'library-missing' || noMechanism) return new NtlmUnavailableError(proxyHost, labelled, error, platform);
    if (error.kind === 'no-credentials' || error.kind === 'credentials-expired') return new NtlmNoCredentialsError(proxyHost, labelled, error, platform);
    return new NtlmError('ERR_JAATO_NTLM', proxyHost, 'the NTLM handshake failed on our side', labelled, error);
  }
  return new NtlmError('ERR_JAATO_NTLM', proxyHost, 'the NTLM handshake failed on our side', text, error);
}
