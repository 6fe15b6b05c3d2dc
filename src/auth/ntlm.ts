import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { InvalidOptionError } from '../config/errors.js';
import { ProxyCredentials } from '../config/proxy-credentials.js';
import { defaultSpn } from '../config/spn.js';
import { debug } from '../debug.js';
import type { AuthenticatorStep, ProxyAuthenticator } from './authenticator.js';
import { gssCalls } from './gss-calls.js';
import { loadSecurityProvider } from './native/load.js';
import { winbindRunning } from './ntlm-helper/find-ntlm-auth.js';
import { NtlmAuthContext } from './ntlm-helper/ntlm-auth-context.js';
import { firstNtlmUser } from './ntlm-helper/ntlm-user-file.js';
import type { SecurityContext, SecurityProvider } from './native/provider.js';
import { ntlmMechanismHere } from './ntlm-mechanism.js';
import { classifyNtlmError, NtlmError, NtlmNoCredentialsError, NtlmUnavailableError } from './ntlm-errors.js';
import { DEFAULT_TOKEN_TIMEOUT } from './spnego.js';

export interface NtlmOptions {
  /**
   * `DOMAIN\user` and password (a `ProxyCredentials`, which prints as `****`). Without them the
   * platform's own: SSPI the logged-on user; elsewhere NTLM_USER_FILE's first line, else winbind's
   * cached credentials (ntlm_auth) or what gss-ntlmssp finds.
   */
  credentials?: { readonly username: string; readonly password: string } | undefined;
  /** The target name the mechanism is given; default `HTTP@<proxy host>` (NTLM puts no ticket to it). */
  spn?: string;
  /** Milliseconds for each leg, including the wait for a free slot; default DEFAULT_TOKEN_TIMEOUT. */
  timeout?: number;
  signal?: AbortSignal;
  /** Whose remedies the errors carry; default `process.platform`. */
  platform?: NodeJS.Platform;
  /** The security library to call instead of the platform's (a test double, or one loaded by hand); no ntlm_auth then. */
  provider?: SecurityProvider;
  /** JAATO_NTLM_AUTH, PATH and NTLM_USER_FILE, and the few variables ntlm_auth gets; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Whether winbindd runs here, for single sign-on through ntlm_auth (a test's stand-in); default: its socket exists. */
  winbindRunning?: () => boolean;
}

type Phase = 'new' | 'negotiated' | 'done' | 'disposed';

/**
 * NTLM with a proxy, without NTLM's cryptography here: a maintained implementation makes each message.
 * Linux and macOS: Samba's `ntlm_auth` in a process of its own where one is found (`findNtlmAuth`),
 * else GSSAPI's NTLMSSP mechanism (gss-ntlmssp) in-process, refused where Node's OpenSSL would break it
 * (docs/ntlm.md); Windows: SSPI's `NTLM` package.
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
    const env = this.#options.env ?? process.env;
    // A provider given (a test double, one loaded by hand) is used as it is; otherwise the one choice doctor names too.
    const choice = this.#options.provider ? undefined : ntlmMechanismHere(env, platform);
    if (choice?.kind === 'refused') {
      throw new NtlmUnavailableError(this.proxyHost, '', undefined, platform, `this Node bundles OpenSSL ${choice.clash.node} and exports its symbols, so gss-ntlmssp (built for the system's OpenSSL ${choice.clash.system}) would run its NTLM cryptography on Node's copy, which fails: install Samba's ntlm_auth (Debian/Ubuntu package winbind), which jaato-proxy runs outside Node's process, or use a Node whose OpenSSL is ${choice.clash.system} (Node 20 on Debian 12), or Negotiate (Kerberos)`);
    }
    let mechanism: string;
    let credentials = this.#options.credentials;
    if (choice?.kind === 'ntlm_auth') {
      const helper = choice.binary;
      credentials ??= await this.#userFile(env, platform);
      // ntlm_auth takes the password as a C string: a NUL would cut it short, silently.
      if (credentials?.password.includes('\u0000')) throw new NtlmNoCredentialsError(this.proxyHost, 'the password in the proxy URL contains a NUL character, which NTLM cannot carry', undefined, platform);
      // As gss-ntlmssp did: no credentials is said before any message goes, so the choice can move on (Basic, or the remedy).
      if (!credentials?.password && !(this.#options.winbindRunning ?? (() => winbindRunning(env)))()) {
        throw new NtlmNoCredentialsError(this.proxyHost, 'none in the proxy URL, no NTLM_USER_FILE, and no winbindd here to hold cached ones', undefined, platform);
      }
      this.#context = new NtlmAuthContext({ binary: helper, proxyHost: this.proxyHost, credentials, timeout: this.#timeout(), signal: this.#options.signal, env, platform });
      mechanism = helper;
    } else {
      let provider: SecurityProvider;
      try {
        provider = this.#options.provider ?? (await loadSecurityProvider());
      } catch (error) {
        throw classifyNtlmError(this.proxyHost, error, platform);
      }
      const spn = this.#options.spn ?? defaultSpn(this.proxyHost, platform);
      this.#context = provider.initContext({ spn, mutual: false, mechanism: 'ntlm', ...(credentials && { password: credentials }) });
      mechanism = provider.info.library;
    }
    // dispose() while the credentials or the library were looked for: nothing may start after it.
    if ((this.#phase as Phase) === 'disposed') throw this.#fail(new NtlmError('ERR_JAATO_NTLM', this.proxyHost, 'the handshake was disposed before its NEGOTIATE message', ''));
    const token = await this.#leg(undefined);
    if ((this.#phase as Phase) === 'disposed') throw this.#fail(new NtlmError('ERR_JAATO_NTLM', this.proxyHost, 'the handshake was disposed during its NEGOTIATE message', ''));
    if (!token) throw this.#fail(new NtlmError('ERR_JAATO_NTLM', this.proxyHost, 'the NTLM mechanism made no NEGOTIATE message', ''));
    this.#phase = 'negotiated';
    const source = this.#options.credentials ? 'explicit' : credentials ? 'NTLM_USER_FILE' : 'the platform\'s';
    debug('NTLM: NEGOTIATE message for %s (%s credentials, %s)', this.proxyHost, source, mechanism);
    return token;
  }

  /** NTLM_USER_FILE's first entry, for ntlm_auth (gss-ntlmssp reads the file itself); none set: winbind's cached credentials. */
  async #userFile(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): Promise<{ username: string; password: string } | undefined> {
    const file = env.NTLM_USER_FILE?.trim();
    if (!file) return undefined;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new NtlmNoCredentialsError(this.proxyHost, `NTLM_USER_FILE ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, undefined, platform);
    }
    const entry = firstNtlmUser(text);
    if (!entry) throw new NtlmNoCredentialsError(this.proxyHost, `NTLM_USER_FILE ${file} holds no DOMAIN:user:password line`, undefined, platform);
    // Printed as **** like the proxy URL's: the password is not to reach a log through this object.
    return new ProxyCredentials(entry.username, entry.password);
  }

  #timeout(): number {
    return this.#options.timeout ?? DEFAULT_TOKEN_TIMEOUT;
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
    if (this.#phase === 'negotiated') debug('NTLM: handshake for %s ended before its CHALLENGE; its mechanism released', this.proxyHost);
    this.#phase = 'disposed';
    this.#context?.dispose();
  }

  async #leg(input: Buffer | undefined): Promise<string | undefined> {
    const context = this.#context as SecurityContext;
    const timeout = this.#timeout();
    try {
      // The helper bounds its own steps and takes no thread of libuv's pool: only native calls queue there.
      const out =
        context instanceof NtlmAuthContext
          ? (await context.step(input)).token
          : await gssCalls.run(async () => (await context.step(input)).token, {
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

/**
 * Which mechanism would make NTLM's messages here, in words for doctor: the choice `start()` follows
 * (ntlm-mechanism.ts). A bad JAATO_NTLM_AUTH is said, not thrown.
 */
export function ntlmMechanism(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  let choice;
  try {
    choice = ntlmMechanismHere(env, platform);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  switch (choice.kind) {
    case 'sspi':
      return "SSPI's NTLM package";
    case 'ntlm_auth':
      return `Samba's ${choice.binary}, out of process`;
    case 'gssapi':
      return "GSSAPI's NTLMSSP (gss-ntlmssp), in-process";
    case 'refused':
      return `none usable: no ntlm_auth (Debian/Ubuntu package winbind), and GSSAPI's NTLMSSP in-process is refused on this Node (OpenSSL ${choice.clash.node}, the system's ${choice.clash.system})`;
  }
}
