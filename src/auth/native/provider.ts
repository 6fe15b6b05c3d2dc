/**
 * The seam between the SPNEGO layer (`../spnego.ts`) and the OS's own security library, called through
 * koffi: GSSAPI (MIT, Heimdal, Apple's GSS.framework) in `gssapi/`, SSPI (Windows, package `Negotiate`
 * or `NTLM`) in `sspi/`. Each binding loads its library at run time, runs every call that may reach
 * the network on libuv's pool (koffi's async calls), and reports failures as a `NativeSecurityFailure`
 * classified by status code, never by message text.
 */

/** Which library answered, for doctor and error messages. */
export interface SecurityLibraryInfo {
  /** `mit`, `heimdal`, `apple` (GSS.framework), `sspi`. */
  readonly family: 'mit' | 'heimdal' | 'apple' | 'sspi';
  /** What was loaded: a path or soname (`libgssapi_krb5.so.2`, `secur32.dll`). */
  readonly library: string;
  /** The library's own version where it says one (`krb5-1.20.1`), else undefined. */
  readonly version: string | undefined;
  /** `GSSAPI` or `SSPI`: the word errors label the library's texts with. */
  readonly api: 'GSSAPI' | 'SSPI';
}

/** The default credential, as the library sees it (never the ticket itself). */
export interface CredentialInfo {
  /** `alice@REALM`; undefined where the library cannot say (SSPI under Wine). */
  readonly principal: string | undefined;
  /** Seconds the credential is still good for; 0 when expired; undefined when unknown. */
  readonly lifetimeSeconds: number | undefined;
}

/** One leg of a context: the token to send (if any), and whether the context is established. */
export interface ContextStep {
  readonly token: Buffer | undefined;
  readonly complete: boolean;
}

export interface InitContextOptions {
  /** `HTTP@host` (GSSAPI) or `HTTP/host` (SSPI), already in the platform's form. */
  readonly spn: string;
  /** Client principal to use instead of the default credential (`user@REALM`). */
  readonly principal?: string | undefined;
  /** Ask for mutual authentication (the reply token is then verified by `step`). */
  readonly mutual: boolean;
  /** `spnego` (default) or `ntlm` where the library offers NTLM. */
  readonly mechanism?: 'spnego' | 'ntlm';
  /**
   * A user name and password instead of the default credential (GSSAPI's NTLMSSP: `DOMAIN\\user`).
   * `ProxyCredentials` is one: it prints as `****`. Never logged, never in an error.
   */
  readonly password?: { readonly username: string; readonly password: string };
}

/**
 * One security context with one proxy connection. `step(undefined)` makes the first token; later
 * steps feed the proxy's reply token. Rejects with `NativeSecurityFailure`. `dispose()` releases the
 * native context; safe to call twice.
 */
export interface SecurityContext {
  step(input: Buffer | undefined): Promise<ContextStep>;
  /** The service name the library actually used (after any canonicalization, e.g. MIT's rdns), once known. */
  targetName(): Promise<string | undefined>;
  dispose(): void;
}

export interface SecurityProvider {
  readonly info: SecurityLibraryInfo;
  initContext(options: InitContextOptions): SecurityContext;
  inquireCredential(principal?: string): Promise<CredentialInfo>;
}

/** What went wrong, by status code. Each binding maps its own codes to these (pure, table-tested). */
export type NativeFailureKind =
  | 'no-credentials'
  | 'credentials-expired'
  | 'kdc-unreachable'
  | 'clock-skew'
  | 'unknown-service'
  | 'account-disabled'
  | 'account-expired'
  | 'password-expired'
  | 'no-common-enctype'
  | 'wrong-key-version'
  | 'mutual-auth-failed'
  | 'library-missing'
  | 'other';

/** A failure from the native library: its kind, its status codes and its own texts (no token, ever). */
export class NativeSecurityFailure extends Error {
  readonly kind: NativeFailureKind;
  /** GSSAPI major status, or SSPI SECURITY_STATUS as an unsigned 32-bit number. */
  readonly major: number;
  /** GSSAPI minor status (a krb5 error code for the krb5 mech); 0 for SSPI. */
  readonly minor: number;
  /** The call that failed, e.g. `gss_init_sec_context`. */
  readonly call: string;

  constructor(kind: NativeFailureKind, call: string, major: number, minor: number, text: string) {
    super(text);
    this.name = 'NativeSecurityFailure';
    this.kind = kind;
    this.call = call;
    this.major = major >>> 0;
    this.minor = minor >>> 0;
  }
}
