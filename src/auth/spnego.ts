import { channel } from 'node:diagnostics_channel';
import { statSync } from 'node:fs';
import type { Env } from '../config/env.js';
import { InvalidOptionError } from '../config/errors.js';
import { JaatoProxyError } from '../errors.js';
import { defaultSpn, normalizeSpn } from '../config/spn.js';
import { classifyGssError, KerberosError, KerberosKdcUnreachableError } from './errors.js';
import { gssCalls } from './gss-calls.js';
import { loadSecurityProvider } from './native/load.js';
import { NativeSecurityFailure, type SecurityContext, type SecurityProvider } from './native/provider.js';

/**
 * How long a token may take by default: the wait for a free GSSAPI slot plus the calls themselves. A
 * KDC answers in milliseconds; MIT krb5's own give-up against a silent one is 45-54 s.
 */
export const DEFAULT_TOKEN_TIMEOUT = 10_000;

/** Bounds and context for making one token. */
export interface TokenOptions {
  /** Client principal to use instead of the credential cache's default (`user@REALM`). */
  principal?: string;
  /** Milliseconds for the whole token; then `KerberosKdcUnreachableError` (with `timeoutMs`). Default `DEFAULT_TOKEN_TIMEOUT`. */
  timeout?: number;
  /** Ends the wait at once with `signal.reason` (the native call itself runs to its end in the background). */
  signal?: AbortSignal;
  /** Whose remedies the errors carry; default `process.platform`, the platform the library runs on. */
  platform?: NodeJS.Platform;
  /** The security library to call instead of the platform's (see native/load.ts): a test double, or one loaded by hand. */
  provider?: SecurityProvider;
}

export interface SpnegoOptions extends TokenOptions {
  /** The service name, `HTTP/host` or `HTTP@host`; default `JAATO_KERBEROS_SPN`, else the proxy host. */
  spn?: string;
  env?: Env;
}

/**
 * Published once per GSSAPI step that makes a fresh token, with `{ spn }` only (never the token):
 * how tests and benchmarks count steps, and a hook for diagnostics tools.
 */
export const tokenChannel = channel('jaato-proxy:spnego-token');

/**
 * Services (with the client principal) whose last token timed out while its GSSAPI call was still
 * running, until that call ends. A new token for one of them fails at once instead of waiting out
 * another timeout: the KDC it needs has not answered yet, and a request would otherwise wait once for
 * its pre-auth token and again for each 407.
 */
const stalled = new Map<string, { calls: number; ms: number }>();

function unstall(key: string): void {
  const s = stalled.get(key);
  if (!s) return;
  if (s.calls <= 1) stalled.delete(key);
  else stalled.set(key, { calls: s.calls - 1, ms: s.ms });
}

/**
 * The service name for a proxy host, in the platform's form (`HTTP/host` on Windows, `HTTP@host`
 * elsewhere): the `spn` option, then `JAATO_KERBEROS_SPN`, then the host.
 */
export function spnFor(proxyHost: string, options: SpnegoOptions = {}): string {
  if (options.spn) return normalizeSpn(options.spn, 'options.spn', options.platform);
  const fromEnv = (options.env ?? process.env).JAATO_KERBEROS_SPN;
  if (fromEnv && fromEnv.trim() !== '') return normalizeSpn(fromEnv.trim(), 'JAATO_KERBEROS_SPN', options.platform);
  return defaultSpn(proxyHost, options.platform);
}

/**
 * One SPNEGO security context with a proxy: its first token, and the check of the proxy's answer
 * token (mutual authentication) when the proxy sends one. A context is used for one connection only:
 * Kerberos authenticators are single-use, and a replay cache refuses a token seen before.
 */
export class NegotiateContext {
  readonly spn: string;
  /** The first token, base64. */
  readonly token: string;
  readonly #context: SecurityContext;

  private constructor(spn: string, context: SecurityContext, token: string) {
    this.spn = spn;
    this.#context = context;
    this.token = token;
  }

  /**
   * Makes the first token for `spn` (already in the platform's form, see `spnFor`), within
   * `options.timeout` and through the process-wide cap on concurrent GSSAPI calls (`gss-calls.ts`).
   */
  static async start(spn: string, options: TokenOptions = {}): Promise<NegotiateContext> {
    const platform = options.platform ?? process.platform;
    const timeout = options.timeout ?? DEFAULT_TOKEN_TIMEOUT;
    if (!(timeout > 0 && Number.isFinite(timeout))) throw new InvalidOptionError('tokenTimeout', `must be a positive number of milliseconds, got ${String(timeout)}`);
    let provider: SecurityProvider;
    try {
      // The library of the platform this runs on; `platform` only chooses the remedies' words.
      provider = options.provider ?? (await loadSecurityProvider());
    } catch (error) {
      throw classifyGssError(spn, error, platform);
    }
    const key = `${spn}\u0000${options.principal ?? ''}`;
    const stall = stalled.get(key);
    if (stall) throw new KerberosKdcUnreachableError(spn, '', undefined, platform, { ms: stall.ms, stillWaiting: true });
    // Mutual authentication (the reply token is checked by verify); never delegation: the proxy gets no TGT.
    const context = provider.initContext({ spn, mutual: true, ...(options.principal && { principal: options.principal }) });
    let inFlight = false;
    let timedOutInFlight = false;
    let token: Buffer | undefined;
    try {
      token = await gssCalls.run(
        async (abandoned) => {
          // Nobody waits any more: do not ask the KDC for a ticket no one will use.
          if (abandoned()) throw new Error('abandoned');
          inFlight = true;
          try {
            return (await context.step(undefined)).token;
          } finally {
            inFlight = false;
            if (timedOutInFlight) unstall(key);
          }
        },
        {
          timeout,
          signal: options.signal,
          onTimeout: () => {
            if (inFlight) {
              timedOutInFlight = true;
              const s = stalled.get(key) ?? { calls: 0, ms: timeout };
              stalled.set(key, { calls: s.calls + 1, ms: timeout });
            }
            return new KerberosKdcUnreachableError(spn, '', undefined, platform, { ms: timeout });
          },
        },
      );
    } catch (error) {
      const named = error instanceof NativeSecurityFailure && error.kind === 'unknown-service' ? await usedName(context) : undefined;
      const open = error instanceof NativeSecurityFailure && error.kind === 'no-credentials' && provider.info.family === 'heimdal' ? openCacheFile() : undefined;
      context.dispose(); // a call still running releases its handles when it returns
      if (options.signal?.aborted && error === options.signal.reason) throw error;
      throw error instanceof KerberosError ? error : classifyGssError(spn, error, platform, named, open);
    }
    if (!token || token.length === 0) {
      context.dispose();
      throw classifyGssError(spn, new Error(`${provider.info.api} produced an empty token`), platform);
    }
    if (tokenChannel.hasSubscribers) tokenChannel.publish({ spn });
    return new NegotiateContext(spn, context, token.toString('base64'));
  }

  /**
   * Feeds the proxy's reply token back to the context. Rejects when it does not verify: a proxy that
   * answers with a token it cannot have made is not the proxy the ticket was for.
   */
  async verify(serverToken: string): Promise<void> {
    try {
      await this.#context.step(Buffer.from(serverToken, 'base64'));
    } catch (error) {
      const text = (error instanceof Error ? error.message : String(error)).trim();
      const api = error instanceof NativeSecurityFailure ? (error.call.startsWith('gss_') ? 'GSSAPI' : 'SSPI') : 'GSSAPI';
      throw new JaatoProxyError('ERR_JAATO_KERBEROS_MUTUAL_AUTH', `the Negotiate reply token for ${this.spn} did not verify (${api}: ${text || 'no detail'})`, { cause: error });
    } finally {
      this.#context.dispose();
    }
  }

  /**
   * The service principal the library actually asked the KDC for (`HTTP/host@REALM`), after its own
   * DNS canonicalization (MIT's rdns), when it can say; undefined once disposed (verify disposes).
   */
  targetName(): Promise<string | undefined> {
    return usedName(this.#context);
  }

  /** Releases the native context now rather than when it is collected; safe to call twice. */
  dispose(): void {
    this.#context.dispose();
  }
}

/**
 * The FILE: cache in KRB5CCNAME when group or others can read it: Heimdal refuses such a cache and
 * then reports no credentials at all (ffi-probe, Heimdal 7.8); MIT reads it.
 */
function openCacheFile(): string | undefined {
  const name = process.env.KRB5CCNAME?.trim();
  const path = name?.startsWith('FILE:') ? name.slice(5) : name?.startsWith('/') ? name : process.getuid ? `/tmp/krb5cc_${process.getuid()}` : undefined;
  try {
    return path && (statSync(path).mode & 0o077) !== 0 ? path : undefined;
  } catch {
    return undefined;
  }
}

/** The name the library asked the KDC for, when it can say within a short wait (it may ask DNS). */
async function usedName(context: SecurityContext): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 2000)));
  try {
    return await Promise.race([context.targetName().catch(() => undefined), gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The seed's `generate_spnego_token`: a fresh base64 SPNEGO token for the proxy host's service name from
 * the OS credentials. Every call makes a new token; never cache one for another connection.
 */
export async function generateSpnegoToken(proxyHost: string, options: SpnegoOptions = {}): Promise<string> {
  const context = await NegotiateContext.start(spnFor(proxyHost, options), options);
  return context.token;
}
