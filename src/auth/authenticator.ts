/**
 * A connection-bound authenticator: the mechanism side of a multi-leg proxy handshake (NTLM's
 * negotiate → challenge → authenticate; SPNEGO when it wants another leg). The transport sends
 * `start()`'s token, feeds each challenge token the proxy answers with to `step()` and sends what it
 * returns, all on the same connection, until `done`. Tokens are base64, without the scheme word.
 */
export interface ProxyAuthenticator {
  /** The scheme word for the header: `Proxy-Authorization: <scheme> <token>`. */
  readonly scheme: 'NTLM' | 'Negotiate';
  /** The first token (NTLM: the NEGOTIATE message). Rejects with a typed JaatoProxyError. */
  start(): Promise<string>;
  /**
   * Takes the proxy's challenge token (base64, from `Proxy-Authenticate: <scheme> <token>`) and makes
   * the next leg. `token`: send it on the same connection; `done`: our side of the handshake is over
   * (after NTLM's AUTHENTICATE message, the proxy's answer is its status, not another challenge).
   */
  step(challenge: string): Promise<AuthenticatorStep>;
  /** Releases the native context; safe to call twice, and after a failure. */
  dispose(): void;
}

export interface AuthenticatorStep {
  /** The next token to send (base64), when there is one. */
  readonly token: string | undefined;
  /** No further leg will be asked of this authenticator. */
  readonly done: boolean;
}
