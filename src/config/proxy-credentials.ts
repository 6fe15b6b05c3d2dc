import { inspect } from 'node:util';

/**
 * A proxy URL's userinfo, decoded, for Basic only. Held in private fields behind getters: a route or
 * an endpoint a caller prints (`util.inspect`, even with `showHidden`) or serializes (`JSON.stringify`,
 * a logger, an error reporter walking `cause`) shows `****`, never the password.
 */
export class ProxyCredentials {
  readonly #username: string;
  readonly #password: string;

  constructor(username: string, password: string) {
    this.#username = username;
    this.#password = password;
  }

  get username(): string {
    return this.#username;
  }

  get password(): string {
    return this.#password;
  }

  toJSON(): { username: string; password: string } {
    return { username: '****', password: '****' };
  }

  [inspect.custom](): string {
    return 'ProxyCredentials { username: ****, password: **** }';
  }
}
