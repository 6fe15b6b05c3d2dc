import { firstSet, NO_PROXY_VARIABLES, type Env } from './env.js';
import { ExactBypassList } from './exact-bypass.js';
import type { ParsedTarget } from './host.js';
import { NoProxyList } from './no-proxy.js';
import type { SystemBypassList } from './system/system-bypass.js';

const DECISIONS_LIMIT = 1024;

/**
 * Both bypass lists, compiled: `JAATO_NO_PROXY` (exact, checked first), then `NO_PROXY`. Immutable,
 * so the rule for a `scheme://host:port` is found once and reused for every later request to it.
 */
export class BypassRules {
  readonly exact: ExactBypassList;
  readonly noProxy: NoProxyList;
  /** `scheme://authority` → the rule that matched it, or null for none. */
  readonly #decided = new Map<string, string | null>();

  /** The OS's list, when its settings are the source: after the variables' lists, which the user set on purpose. */
  readonly system: SystemBypassList | undefined;

  /** Explicit lists win over the environment, as every option does. */
  constructor(options: { noProxy?: string | readonly string[]; exactNoProxy?: string | readonly string[] }, env: Env, system?: SystemBypassList) {
    this.system = system;
    this.exact = new ExactBypassList(options.exactNoProxy ?? env.JAATO_NO_PROXY, options.exactNoProxy ? 'options.exactNoProxy' : 'JAATO_NO_PROXY');
    if (options.noProxy !== undefined) {
      this.noProxy = new NoProxyList(options.noProxy, 'options.noProxy');
    } else {
      const found = firstSet(env, NO_PROXY_VARIABLES);
      this.noProxy = new NoProxyList(found?.value, found?.name ?? 'NO_PROXY');
    }
  }

  /** The rule that makes the target bypass the proxy, if any. */
  rule(target: ParsedTarget): string | undefined {
    let rule = this.#decided.get(target.key);
    if (rule === undefined) {
      rule = this.#match(target) ?? null;
      if (this.#decided.size >= DECISIONS_LIMIT) this.#decided.clear();
      this.#decided.set(target.key, rule);
    }
    return rule ?? undefined;
  }

  #match({ host }: ParsedTarget): string | undefined {
    const exact = this.exact.match(host);
    if (exact !== undefined) return `${this.exact.variable} entry "${exact}"`;
    const suffix = this.noProxy.match(host);
    if (suffix !== undefined) return `${this.noProxy.variable} entry "${suffix}"`;
    return this.system?.rule(host);
  }
}
