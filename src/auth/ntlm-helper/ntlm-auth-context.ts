import { userInfo } from 'node:os';
import type { ContextStep, SecurityContext } from '../native/provider.js';
import { NtlmError, NtlmHelperError, NtlmNoCredentialsError } from '../ntlm-errors.js';
import { helperRequest, helperUser, parseHelperAnswer, redactHelperText } from './helper-protocol.js';
import { HelperProcess } from './helper-process.js';

export interface NtlmAuthContextOptions {
  /** The ntlm_auth to run (`findNtlmAuth`). */
  readonly binary: string;
  readonly proxyHost: string;
  /**
   * `DOMAIN\user` and password (the proxy URL's, or NTLM_USER_FILE's first line). Without them, winbind's
   * cached credentials of the logged-on user (`--use-cached-creds`): single sign-on.
   */
  readonly credentials?: { readonly username: string; readonly password: string } | undefined;
  /** Milliseconds each step may take, the helper's start included. */
  readonly timeout: number;
  readonly signal?: AbortSignal | undefined;
  /** Where the helper's few variables come from (PATH, HOME, locale; never a proxy URL) and, for single sign-on, the user's name. */
  readonly env: NodeJS.ProcessEnv;
  readonly platform?: NodeJS.Platform;
  /** How long the helper may wait for the proxy's challenge after its NEGOTIATE message; default 60 s. */
  readonly idleTimeout?: number;
}

/** How long a helper waits, after its NEGOTIATE message, for the proxy's challenge: a round trip to the proxy. */
const IDLE_TIMEOUT = 60_000;

// A context dropped without dispose() (a bug upstream) must not leave its helper behind until exit.
const orphans = new FinalizationRegistry<HelperProcess>((helper) => helper.kill());

/**
 * NTLM's messages made by Samba's `ntlm_auth --helper-protocol=ntlmssp-client-1` in a process of its
 * own, one per handshake (so per proxy connection): NTLM's cryptography runs on Samba's own libraries,
 * never on the OpenSSL Node exports into its process (docs/ntlm.md). The protocol is in
 * `helper-protocol.ts`. The password never goes on the command line or in the environment: only down
 * the pipe, and only when the helper asks for it (`PW`). Each step is bounded by `timeout`; on a failure,
 * a timeout, an abort and `dispose()` the process is killed.
 */
export class NtlmAuthContext implements SecurityContext {
  readonly #options: NtlmAuthContextOptions;
  readonly #args: readonly string[];
  #helper: HelperProcess | undefined;
  #disposed = false;
  /** Ends a helper left waiting between the legs (a connection lost after NEGOTIATE, its owner never disposing). */
  #idle: NodeJS.Timeout | undefined;
  #idled = false;

  constructor(options: NtlmAuthContextOptions) {
    this.#options = options;
    // --debuglevel=0 whatever smb.conf says: at 10 the helper writes NTLM messages to stderr in hex.
    const args = ['--helper-protocol=ntlmssp-client-1', '--debuglevel=0'];
    if (options.credentials?.password) {
      const { username, domain } = helperUser(options.credentials.username);
      args.push(`--username=${username}`, ...(domain !== undefined ? [`--domain=${domain}`] : []));
    } else {
      // The name winbind cached credentials under: a user named without a password (`DOMAIN\\user:`), else
      // where curl's --ntlm-wb looked.
      const { username, domain } = helperUser(options.credentials?.username || options.env.NTLMUSER || options.env.LOGNAME || options.env.USER || safeUserName());
      args.push('--use-cached-creds', `--username=${username}`, ...(domain !== undefined ? [`--domain=${domain}`] : []));
    }
    this.#args = args;
  }

  /** The helper's process id while it runs (tests check that none outlives its handshake). */
  get pid(): number | undefined {
    return this.#helper?.pid;
  }

  async step(input: Buffer | undefined): Promise<ContextStep> {
    if (this.#disposed) throw new Error('NtlmAuthContext: step() after dispose()');
    clearTimeout(this.#idle);
    if (this.#idled) throw this.#error(`was ended: the proxy's challenge had not come ${this.#idleTimeout()} ms after the NEGOTIATE message`);
    const { timeout, signal } = this.#options;
    if (signal?.aborted) {
      this.dispose();
      throw signal.reason;
    }
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const bounds = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#error(`did not answer within ${timeout} ms`)), timeout);
      onAbort = () => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const step = await Promise.race([this.#exchange(input), bounds]);
      if (!step.complete) {
        this.#idle = setTimeout(() => {
          this.#idled = true;
          this.#helper?.kill();
        }, this.#idleTimeout()).unref();
      }
      return step;
    } catch (error) {
      this.dispose();
      throw error;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  async targetName(): Promise<string | undefined> {
    return undefined; // NTLM names no service
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#idle);
    if (this.#helper) {
      orphans.unregister(this);
      this.#helper.kill();
    }
  }

  async #exchange(input: Buffer | undefined): Promise<ContextStep> {
    if (!this.#helper) {
      this.#helper = new HelperProcess(this.#options.binary, this.#args, this.#options.env);
      orphans.register(this, this.#helper, this);
    }
    const helper = this.#helper;
    helper.write(input ? helperRequest.challenge(input.toString('base64')) : helperRequest.negotiate());
    let askedPassword = false;
    for (;;) {
      const event = await helper.next();
      if (this.#disposed) throw new Error('NtlmAuthContext: disposed during a step');
      if (event.type === 'gone') throw this.#error(`${event.why} before it answered`);
      const answer = parseHelperAnswer(event.line);
      switch (answer.kind) {
        case 'token':
          if ((answer.verb === 'YR') !== (input === undefined)) throw this.#error(`answered ${answer.verb} to ${input ? 'TT' : 'YR'}`);
          return { token: Buffer.from(answer.token, 'base64'), complete: input !== undefined };
        case 'password': {
          const password = this.#options.credentials?.password;
          // Single sign-on: winbind has no cached credentials for this user, so the helper wants a password we do not have.
          if (!password) throw this.#noCredentials('ntlm_auth asked for a password: winbind holds no cached credentials for this user');
          if (askedPassword) throw this.#error('asked for the password again after it was given');
          askedPassword = true;
          helper.write(helperRequest.password(password));
          break;
        }
        case 'ok':
          break; // the password was taken; the answer to our request follows
        case 'failure': {
          const text = `${answer.verb} ${this.#redact(answer.text)}`;
          if (!this.#options.credentials && input) throw this.#noCredentials(`ntlm_auth: ${text}`);
          throw new NtlmError('ERR_JAATO_NTLM', this.#options.proxyHost, `the NTLM helper ${this.#options.binary} refused to make the ${input ? 'AUTHENTICATE' : 'NEGOTIATE'} message`, `ntlm_auth: ${text}${this.#stderr()}`);
        }
        case 'unknown':
          throw this.#error(`answered a line we do not understand ("${this.#redact(answer.line).slice(0, 80)}")`);
      }
    }
  }

  #idleTimeout(): number {
    return this.#options.idleTimeout ?? IDLE_TIMEOUT;
  }

  #noCredentials(text: string): NtlmError {
    return new NtlmNoCredentialsError(this.#options.proxyHost, `${text}${this.#stderr()}`, undefined, this.#options.platform);
  }

  #error(what: string): NtlmHelperError {
    return new NtlmHelperError(this.#options.proxyHost, this.#options.binary, what, this.#stderr().replace(/^; /, ''));
  }

  #stderr(): string {
    const text = this.#redact(this.#helper?.stderr ?? '');
    return text ? `; its stderr: ${text}` : '';
  }

  #redact(text: string): string {
    const password = this.#options.credentials?.password;
    return redactHelperText(text, password ? [password] : []);
  }
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}
