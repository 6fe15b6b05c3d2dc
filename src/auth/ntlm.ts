import { inspect } from 'node:util';
import { InvalidOptionError } from '../config/errors.js';
import { defaultSpn } from '../config/spn.js';
import { debug } from '../debug.js';
import type { AuthenticatorStep, ProxyAuthenticator } from './authenticator.js';
import { gssCalls } from './gss-calls.js';
import { loadSecurityProvider } from './native/load.js';
import type { SecurityContext, SecurityProvider } from './native/provider.js';
import { opensslClash } from './native/openssl-clash.js';
import { classifyNtlmError, NtlmError, NtlmUnavailableError } from './ntlm-errors.js';
import { DEFAULT_TOKEN_TIMEOUT } from './spnego.js';

export interface NtlmOptions {
  /**
   * `DOMAIN\user` and password (a `ProxyCredentials`, which prints as `****`). Without them the
   * platform's own: SSPI the logged-on user; GSSAPI's gss-ntlmssp NTLM_USER_FILE or winbind.
   */
  credentials?: { readonly username: string; readonly password: string } | undefined;
  /** The target name the mechanism is given; default `HTTP@<proxy host>` (NTLM puts no ticket to it). */
  spn?: string;
  /** Milliseconds for each leg, including the wait for a free slot; default DEFAULT_TOKEN_TIMEOUT. */
  timeout?: number;
  signal?: AbortSignal;
  /** Whose remedies the errors carry; default `process.platform`. */
  platform?: NodeJS.Platform;
  /** The security library to call instead of the platform's (a test double, or one loaded by hand). */
  provider?: SecurityProvider;
}

type Phase = 'new' | 'negotiated' | 'done' | 'disposed';

/**
 * NTLM with a proxy, without NTLM's cryptography here: the OS's own mechanism makes each message
 * (GSSAPI's NTLMSSP mechanism, gss-ntlmssp, on Linux and macOS; SSPI's `NTLM` package on Windows).
 * NTLM authenticates a connection, not a request: one authenticator per proxy connection, its three
 * messages on that connection, never a header replayed on another.
 */
export class NtlmAuthenticator implements ProxyAuthenticator {
  readonly scheme = 'NTLM' as const;
  readonly proxyHost: string;
  readonly #options: NtlmOptions;
  #context: SecurityContext | undefined;
  #phase: Phase = 'new';

  constructor(proxyHost: string, options: NtlmOptions = {}) {
    const timeout = options.timeout ?? DEFAULT_TOKEN_TIMEOUT;
    if (!(timeout > 0 && Number.isFinite(timeout))) throw new InvalidOptionError('tokenTimeout', `must be a positive number of milliseconds, got ${String(timeout)}`);
    this.proxyHost = proxyHost;
    this.#options = options;
  }

  /** The NEGOTIATE message (type 1), base64. */
  async start(): Promise<string> {
    if (this.#phase !== 'new') throw new Error('NtlmAuthenticator: start() called twice');
    const platform = this.#options.platform ?? process.platform;
    let provider: SecurityProvider;
    try {
      provider = this.#options.provider ?? (await loadSecurityProvider());
    } catch (error) {
      throw classifyNtlmError(this.proxyHost, error, platform);
    }
    if (provider.info.family !== 'sspi' && !this.#options.provider) {
      const clash = opensslClash();
      if (clash) throw new NtlmUnavailableError(this.proxyHost, '', undefined, platform, `this Node bundles OpenSSL ${clash.node} and exports its symbols, so gss-ntlmssp (built for the system's OpenSSL ${clash.system}) would run its NTLM cryptography on Node's copy, which fails: use a Node whose OpenSSL is ${clash.system} (Node 20 on Debian 12), or Negotiate (Kerberos)`);
    }
    const spn = this.#options.spn ?? defaultSpn(this.proxyHost, platform);
    this.#context = provider.initContext({ spn, mutual: false, mechanism: 'ntlm', ...(this.#options.credentials && { password: this.#options.credentials }) });
    const token = await this.#leg(undefined);
    if (!token) throw this.#fail(new NtlmError('ERR_JAATO_NTLM', this.proxyHost, 'the NTLM mechanism made no NEGOTIATE message', ''));
    this.#phase = 'negotiated';
    debug('NTLM: NEGOTIATE message for %s (%s credentials, %s)', this.proxyHost, this.#options.credentials ? 'explicit' : 'the platform\'s', provider.info.library);
    return token;
  }

  /** The proxy's CHALLENGE (type 2) in, the AUTHENTICATE message (type 3) out; then done. */
  async step(challenge: string): Promise<AuthenticatorStep> {
    if (this.#phase === 'done') return { token: undefined, done: true };
    if (this.#phase !== 'negotiated') throw new Error(`NtlmAuthenticator: step() ${this.#phase === 'new' ? 'before start()' : 'after dispose()'}`);
    const input = Buffer.from(challenge.trim(), 'base64');
    if (input.length === 0) throw this.#fail(new NtlmError('ERR_JAATO_NTLM', this.proxyHost, 'the proxy\'s NTLM challenge was empty (it answered `NTLM` without a token)', ''));
    const token = await this.#leg(input);
    this.#phase = 'done';
    // The context holds the session key and nothing more is asked of it: give it back now.
    this.#context?.dispose();
    debug('NTLM: AUTHENTICATE message for %s', this.proxyHost);
    return { token, done: true };
  }

  dispose(): void {
    this.#phase = 'disposed';
    this.#context?.dispose();
  }

  async #leg(input: Buffer | undefined): Promise<string | undefined> {
    const context = this.#context as SecurityContext;
    const timeout = this.#options.timeout ?? DEFAULT_TOKEN_TIMEOUT;
    try {
      const out = await gssCalls.run(async () => (await context.step(input)).token, {
        timeout,
        signal: this.#options.signal,
        onTimeout: () => new NtlmError('ERR_JAATO_NTLM', this.proxyHost, `the NTLM mechanism did not answer within ${timeout} ms`, ''),
      });
      return out && out.length > 0 ? out.toString('base64') : undefined;
    } catch (error) {
      if (this.#options.signal?.aborted && error === this.#options.signal.reason) {
        this.dispose();
        throw error;
      }
      throw this.#fail(classifyNtlmError(this.proxyHost, error, this.#options.platform ?? process.platform));
    }
  }

  #fail(error: NtlmError): NtlmError {
    this.dispose();
    return error;
  }

  toJSON(): { scheme: 'NTLM'; proxyHost: string; phase: Phase } {
    return { scheme: this.scheme, proxyHost: this.proxyHost, phase: this.#phase };
  }

  [inspect.custom](): string {
    return `NtlmAuthenticator { proxyHost: ${this.proxyHost}, phase: ${this.#phase} }`;
  }
}
