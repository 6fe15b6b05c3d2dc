import { normalizeHost, splitHostPort, splitList, type TargetHost } from './host.js';

/** A list entry that was skipped, with the reason (reported by `explain`, never thrown). */
export interface IgnoredEntry {
  variable: string;
  entry: string;
  reason: string;
}

/**
 * The `JAATO_NO_PROXY` matcher: a host bypasses the proxy only when it *equals* an entry after
 * normalisation. No suffixes and no wildcards, so `github.com` never lets `api.github.com` or
 * `evil-github.com` through. An entry with a port (`host:8443`) bypasses that port only.
 */
export class ExactBypassList {
  readonly variable: string;
  readonly ignored: readonly IgnoredEntry[];
  /** normalised host → the raw entries for it, each with its port (undefined: any port). */
  readonly #hosts = new Map<string, Array<{ entry: string; port: number | undefined }>>();

  constructor(value: string | readonly string[] | undefined, variable = 'JAATO_NO_PROXY') {
    this.variable = variable;
    const ignored: IgnoredEntry[] = [];
    const entries = typeof value === 'string' || value === undefined ? splitList(value) : value.flatMap((v) => splitList(v));
    for (const entry of entries) {
      const reason = this.#add(entry);
      if (reason) ignored.push({ variable, entry, reason });
    }
    this.ignored = ignored;
  }

  get size(): number {
    return this.#hosts.size;
  }

  #add(entry: string): string | undefined {
    if (entry.includes('*')) return 'wildcards are not allowed in an exact list (use NO_PROXY for suffix matching)';
    if (entry.startsWith('.')) return 'a leading dot means suffix matching, which this exact list does not do (use NO_PROXY)';
    if (entry.includes('/')) return 'not a host name or IP address (CIDR ranges belong in NO_PROXY)';
    const split = splitHostPort(entry);
    if (!split) return 'malformed port';
    const host = normalizeHost(split.host);
    if (host === undefined) return 'not a valid host name or IP address';
    const list = this.#hosts.get(host) ?? [];
    list.push({ entry, port: split.port });
    this.#hosts.set(host, list);
    return undefined;
  }

  /** The entry that matches the target exactly, if any. */
  match(target: TargetHost): string | undefined {
    const candidates = this.#hosts.get(target.hostname);
    if (!candidates) return undefined;
    return candidates.find((c) => c.port === undefined || c.port === target.port)?.entry;
  }
}
