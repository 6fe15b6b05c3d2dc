import { channel } from 'node:diagnostics_channel';
import type { Env } from '../config/env.js';
import { unbracket } from '../config/host.js';
import { normalizeSpn } from '../config/spn.js';
import { classifyGssError, KerberosError } from './errors.js';
import { loadKerberos, type KerberosClient } from './kerberos-addon.js';

export interface SpnegoOptions {
  /** The service name, `HTTP@host`; default `JAATO_KERBEROS_SPN`, else `HTTP@<proxyHost>`. */
  spn?: string;
  /** Client principal to use instead of the credential cache's default (`user@REALM`). */
  principal?: string;
  env?: Env;
}

/**
 * Published once per GSSAPI step that makes a fresh token, with `{ spn }` only (never the token):
 * how tests and benchmarks count steps, and a hook for diagnostics tools.
 */
export const tokenChannel = channel('jaato-proxy:spnego-token');

/** The SPN for a proxy host: option, then `JAATO_KERBEROS_SPN`, then `HTTP@<host>`. */
export function spnFor(proxyHost: string, options: SpnegoOptions = {}): string {
  if (options.spn) return normalizeSpn(options.spn, 'options.spn');
  const fromEnv = (options.env ?? process.env).JAATO_KERBEROS_SPN;
  if (fromEnv && fromEnv.trim() !== '') return normalizeSpn(fromEnv.trim(), 'JAATO_KERBEROS_SPN');
  return `HTTP@${unbracket(proxyHost)}`;
}

/**
 * One SPNEGO security context with a proxy: its first token, and the check of the proxy's answer
 * token (mutual authentication) when the proxy sends one. A context is used for one connection only:
 * Kerberos authenticators are single-use, and a replay cache refuses a token seen before.
 */
export class NegotiateContext {
  readonly spn: string;
  readonly token: string;
  readonly #client: KerberosClient;

  private constructor(spn: string, client: KerberosClient, token: string) {
    this.spn = spn;
    this.#client = client;
    this.token = token;
  }

  static async start(spn: string, principal?: string): Promise<NegotiateContext> {
    const addon = await loadKerberos(spn);
    let client: KerberosClient;
    let token: string;
    try {
      const options: { mechOID: number; flags: number; principal?: string } = {
        mechOID: addon.GSS_MECH_OID_SPNEGO,
        // Mutual auth and sequencing; never GSS_C_DELEG_FLAG: the proxy gets no forwardable TGT.
        flags: addon.GSS_C_MUTUAL_FLAG | addon.GSS_C_SEQUENCE_FLAG,
      };
      if (principal) options.principal = principal;
      client = await addon.initializeClient(spn, options);
      token = await client.step('');
    } catch (error) {
      throw error instanceof KerberosError ? error : classifyGssError(spn, error);
    }
    if (!token) throw classifyGssError(spn, new Error('GSSAPI produced an empty token'));
    if (tokenChannel.hasSubscribers) tokenChannel.publish({ spn });
    return new NegotiateContext(spn, client, token);
  }

  /**
   * Feeds the proxy's reply token back to the context. Rejects when it does not verify: a proxy that
   * answers with a token it cannot have made is not the proxy the ticket was for.
   */
  async verify(serverToken: string): Promise<void> {
    try {
      await this.#client.step(serverToken);
    } catch (error) {
      throw new KerberosError('ERR_JAATO_KERBEROS_MUTUAL_AUTH', this.spn, 'the proxy\'s Negotiate reply did not verify (mutual authentication failed)', error instanceof Error ? error.message : String(error), error);
    }
  }
}

/**
 * The seed's `generate_spnego_token`: a fresh base64 SPNEGO token for `HTTP@<proxyHost>` from the OS
 * credentials. Every call makes a new token; never cache one for another connection.
 */
export async function generateSpnegoToken(proxyHost: string, options: SpnegoOptions = {}): Promise<string> {
  const context = await NegotiateContext.start(spnFor(proxyHost, options), options.principal);
  return context.token;
}
