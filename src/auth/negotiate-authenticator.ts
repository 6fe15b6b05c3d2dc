import type { AuthenticatorStep, ProxyAuthenticator } from './authenticator.js';
import { NegotiateContext, type TokenOptions } from './spnego.js';

/**
 * Negotiate as a ProxyAuthenticator: `start()` is the SPNEGO token, `step()` verifies the proxy's reply
 * token (mutual authentication) and is done. One leg: a proxy that wants a second SPNEGO leg is refused
 * by the verification (the transport's "did not verify").
 */
export class NegotiateAuthenticator implements ProxyAuthenticator {
  readonly scheme = 'Negotiate' as const;
  readonly spn: string;
  readonly #options: TokenOptions;
  #context: NegotiateContext | undefined;

  /** `spn` in the platform's form (see `spnFor`). */
  constructor(spn: string, options: TokenOptions = {}) {
    this.spn = spn;
    this.#options = options;
  }

  async start(): Promise<string> {
    if (this.#context) throw new Error('NegotiateAuthenticator: start() called twice');
    this.#context = await NegotiateContext.start(this.spn, this.#options);
    return this.#context.token;
  }

  async step(challenge: string): Promise<AuthenticatorStep> {
    const context = this.#context;
    if (!context) throw new Error('NegotiateAuthenticator: step() before start()');
    if (challenge.trim() !== '') await context.verify(challenge.trim());
    else context.dispose();
    return { token: undefined, done: true };
  }

  dispose(): void {
    this.#context?.dispose();
  }
}
