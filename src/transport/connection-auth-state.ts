/**
 * What one connection to the proxy has shown of proxy auth, for the forwarded exchange (the undici
 * handler and the node:http connection both keep one): which connection it is (a count of opens), and
 * whether a Negotiate token was accepted on it (Squid then wants no more) and a reply token verified on
 * it (mutual authentication shown). Both facts belong to one connection and lapse when it closes.
 * Pure: the bindings call `opened`/`closed` from their own socket or Client events.
 */
export class ConnectionAuthState {
  #generation = 0;
  #connected = false;
  #authenticated = -1;
  #verified = -1;

  /** A new connection is up; returns its number. */
  opened(): number {
    this.#connected = true;
    return ++this.#generation;
  }

  closed(): void {
    this.#connected = false;
  }

  get generation(): number {
    return this.#generation;
  }

  get authenticated(): boolean {
    return this.#connected && this.#authenticated === this.#generation;
  }

  get verified(): boolean {
    return this.#connected && this.#verified === this.#generation;
  }

  /** Whether the connection is still the one that was current at `generation`. */
  same(generation: number): boolean {
    return this.#connected && this.#generation === generation;
  }

  markAuthenticated(): void {
    this.#authenticated = this.#generation;
  }

  markVerified(): void {
    this.#verified = this.#generation;
  }
}
