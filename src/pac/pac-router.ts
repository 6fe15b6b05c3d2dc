import { printable } from '../debug.js';
import { BadProxies } from './bad-proxies.js';
import { PacEvaluationError } from './errors.js';
import { PAC_ANSWER_LIMITS, parsePacAnswer, type PacEntry } from './pac-answer.js';
import { CompiledPac, DEFAULT_PAC_LIMITS, type PacLimits } from './pac-sandbox.js';
import { loadPac, type PacSourceOptions } from './pac-source.js';

export interface PacRouterOptions {
  /** `JAATO_PAC_URL`: http(s)://, file:// or a path. */
  url: string;
  /** A loaded PAC is fetched again in the background after this long (default 10 min). */
  refreshMs?: number;
  /** After a failed load, the next attempt waits this long (default 30 s); meanwhile the last good PAC serves. */
  retryMs?: number;
  /** How long a proxy that could not be reached is tried last (default 5 min, as Chrome). */
  badProxyMs?: number;
  source?: Partial<PacSourceOptions>;
  limits?: Partial<PacLimits>;
  /** Loads the text instead of fetching `url` (a location found by discovery, such as WPAD's). */
  load?: () => Promise<string>;
  /** `alert()` calls and background reload failures (the debug channel, by default nothing). */
  onMessage?: (message: string) => void;
  now?: () => number;
}

/** What the PAC answered for a target, and what was made of it. */
export interface PacDecision {
  /** `FindProxyForURL`'s raw string. */
  raw: string;
  /** The usable entries; those marked bad last. Never empty. */
  entries: PacEntry[];
  skipped: string[];
  /** What was cut when the answer went past `PAC_ANSWER_LIMITS`. */
  truncated?: string;
}

const DECISION_CACHE_LIMIT = 1024;

interface Loaded {
  text: string;
  pac: CompiledPac;
  loadedAt: number;
}

/**
 * One PAC file, loaded on first use and kept fresh: answers are cached per scheme, host and port while
 * the PAC text is unchanged; a failed reload keeps the last good PAC; with none, the typed error (never
 * a silent DIRECT). `FindProxyForURL` gets `scheme://host:port/` only, as Chrome does for https, so no
 * path or query (often a token) reaches a script from the network.
 */
export class PacRouter {
  readonly url: string;
  readonly #options: Required<Omit<PacRouterOptions, 'source' | 'limits' | 'onMessage' | 'load'>> & { source: PacSourceOptions; limits: PacLimits; onMessage: (m: string) => void };
  readonly #bad: BadProxies;
  readonly #load: (() => Promise<string>) | undefined;
  readonly #decisions = new Map<string, Promise<PacDecision>>();
  #loaded: Loaded | undefined;
  #loading: Promise<Loaded> | undefined;
  #failure: { error: Error; retryAt: number } | undefined;

  constructor(options: PacRouterOptions) {
    this.url = options.url;
    const now = options.now ?? Date.now;
    this.#options = {
      url: options.url,
      refreshMs: options.refreshMs ?? 10 * 60_000,
      retryMs: options.retryMs ?? 30_000,
      badProxyMs: options.badProxyMs ?? 5 * 60_000,
      source: { timeoutMs: 10_000, ...options.source },
      limits: { ...DEFAULT_PAC_LIMITS, ...options.limits },
      onMessage: options.onMessage ?? (() => undefined),
      now,
    };
    this.#bad = new BadProxies(this.#options.badProxyMs, now);
    this.#load = options.load;
  }

  /**
   * The PAC's answer for `target`, bad proxies moved last. `signal` ends the caller's wait (with its
   * reason) while the PAC loads or runs; the work goes on for the next caller, within its own bounds.
   */
  async decide(target: URL, signal?: AbortSignal): Promise<PacDecision> {
    if (signal?.aborted) throw signal.reason;
    if (signal) return untilAborted(this.decide(target), signal);
    const loaded = await this.#current();
    const key = `${target.protocol}//${target.host}`;
    let decision = this.#decisions.get(key);
    if (!decision) {
      decision = this.#evaluate(loaded.pac, target);
      if (this.#decisions.size >= DECISION_CACHE_LIMIT) this.#decisions.delete(this.#decisions.keys().next().value as string);
      this.#decisions.set(key, decision);
      // A failed evaluation is not remembered: the next request asks again.
      decision.catch(() => this.#decisions.get(key) === decision && this.#decisions.delete(key));
    }
    const d = await decision;
    return { ...d, entries: this.#bad.order(d.entries, (e) => (e.type === 'proxy' ? proxyKey(e.proxy) : undefined)) };
  }

  /** A proxy (its URL or origin) that could not be reached: tried last for a while. */
  markBad(proxy: string): void {
    this.#bad.mark(proxyKey(proxy));
  }

  close(): void {
    this.#loaded?.pac.dispose();
    this.#loaded = undefined;
  }

  async #evaluate(pac: CompiledPac, target: URL): Promise<PacDecision> {
    const raw = await pac.findProxy(`${target.protocol}//${target.host}/`, target.hostname.replace(/^\[|\]$/g, ''));
    const answer = parsePacAnswer(raw);
    if (answer === undefined) throw new PacEvaluationError(this.url, 'answer', `returned ${describeValue(raw)} for ${target.host}, not a string like "PROXY host:port; DIRECT"`);
    if (answer.entries.length === 0) {
      const why = answer.skipped.length > 0 ? `: ${answer.skipped.join('; ')}` : '';
      throw new PacEvaluationError(this.url, 'answer', `returned no usable entry for ${target.host} ("${printable(String(raw).slice(0, 200))}")${why.length > 1000 ? `${why.slice(0, 1000)}…` : why}`);
    }
    // Cached per host: only the part that was read is kept.
    const text = String(raw);
    return { raw: text.length > PAC_ANSWER_LIMITS.chars ? `${text.slice(0, PAC_ANSWER_LIMITS.chars)}…` : text, ...answer };
  }

  async #current(): Promise<Loaded> {
    const now = this.#options.now();
    const loaded = this.#loaded;
    if (loaded) {
      if (now - loaded.loadedAt >= this.#options.refreshMs && !this.#loading && !(this.#failure && now < this.#failure.retryAt)) {
        this.#reload().catch((error: Error) => this.#options.onMessage(`PAC refresh failed, keeping the last good PAC: ${error.message}`));
      }
      return loaded;
    }
    if (this.#failure && now < this.#failure.retryAt) throw this.#failure.error;
    return this.#loading ?? this.#reload();
  }

  #reload(): Promise<Loaded> {
    const loading = (async () => {
      const text = await (this.#load ? this.#load() : loadPac(this.url, this.#options.source));
      const previous = this.#loaded;
      if (previous && previous.text === text) {
        previous.loadedAt = this.#options.now();
        return previous;
      }
      const pac = await CompiledPac.compile(this.url, text, this.#options.limits, (m) => this.#options.onMessage(`PAC alert: ${m}`));
      const next = { text, pac, loadedAt: this.#options.now() };
      this.#loaded = next;
      this.#decisions.clear();
      previous?.pac.dispose();
      return next;
    })();
    this.#loading = loading;
    loading.then(
      () => (this.#failure = undefined),
      (error: Error) => (this.#failure = { error, retryAt: this.#options.now() + this.#options.retryMs }),
    ).finally(() => (this.#loading = undefined));
    return loading;
  }
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** One spelling per proxy, default port included, whether it came from a PAC entry or an endpoint's origin. */
function proxyKey(proxy: string): string {
  const u = new URL(proxy);
  return `${u.protocol}//${u.host}${u.port === '' ? (u.protocol === 'https:' ? ':443' : ':80') : ''}`;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${printable(String(value).slice(0, 40))}`;
}
