import { schemeClass, type ProxyConfig, type ProxyRoute, type Route } from '../config/proxy-config.js';
import { JaatoProxyError } from '../errors.js';
import { PacEvaluationError } from '../pac/errors.js';
import { pacRoutes, type PacSetting } from '../pac/pac-route.js';
import { CompiledPac } from '../pac/pac-sandbox.js';
import { loadPac, pacLocation } from '../pac/pac-source.js';
import { proxyUnreachable } from '../pac/unreachable.js';
import { redactUrl } from '../redact.js';
import { dialProxy, type DialOptions } from '../transport/proxy-socket.js';
import { pacFetchRemedy, pacScriptRemedy } from './advice.js';
import type { Check } from './check.js';

/** What doctor found about the PAC: the `pac` object of `doctor --json` (null there without a PAC). */
export interface PacFacts {
  /** The PAC location, credentials masked. */
  url: string;
  /** What set it: `JAATO_PAC_URL`, `--pac` or `options.pac`. */
  source: string;
  /** Its text was loaded. */
  fetched: boolean;
  /** Its size in bytes; null when not loaded. */
  bytes: number | null;
  /** What `FindProxyForURL` was given (`scheme://host:port/`, the URL's or doctor's stand-in); null when the PAC was not asked. */
  asked: string | null;
  /** `FindProxyForURL`'s raw answer; null when it was not asked (a bypass rule decided, or the PAC failed). */
  answer: string | null;
  /** The usable entries in the order they are tried: `DIRECT` or the proxy URL. */
  entries: string[];
  /** Entries left out of the answer, each with its reason. */
  skipped: string[];
  /** The entry a request takes: the first DIRECT or proxy that accepts connections; null when none does or the PAC failed. */
  chosen: string | null;
}

/** One of the PAC's proxies for doctor to probe, named in the lines by its place in the answer. */
export interface PacProbe {
  route: ProxyRoute;
  label: string;
  /** Its place in the answer (0-based). */
  index: number;
}

export interface PacPlan {
  checks: Check[];
  facts: PacFacts;
  /** The route a request takes; undefined when the PAC gave none or no entry can be reached. */
  chosen?: Route;
  /** Where `chosen` is in the answer's list. */
  chosenIndex: number;
  /** The rule behind the route, for the fetch line's remedy; undefined when there is no route. */
  rule?: string;
  /** Each distinct proxy the answer names, in order. */
  probes: PacProbe[];
  /** The proxy route the Kerberos lines check: the chosen one, else (none reachable) the first named. */
  kerberosRoute?: ProxyRoute;
}

/** Bound on fetching the PAC, the router's own (requests fetch it with this bound too). */
const PAC_FETCH_TIMEOUT_MS = 10_000;

function failure(e: unknown): string {
  return e instanceof JaatoProxyError ? `${e.message} [${e.code}]` : e instanceof Error ? e.message : String(e);
}

/**
 * The PAC's lines, in order: loaded (from where, its size, how long), compiled, then asked about the
 * target as a request would ask it (the bypass lists first), and the route: the first entry that a
 * request would end on, a proxy that cannot be reached being skipped as the transport's failover does.
 * A PAC that cannot answer is a failure, never a DIRECT.
 */
export async function planPac(setting: PacSetting, source: string, target: URL, standIn: boolean, config: ProxyConfig, dial: DialOptions): Promise<PacPlan> {
  const facts: PacFacts = { url: redactUrl(setting.url), source, fetched: false, bytes: null, asked: null, answer: null, entries: [], skipped: [], chosen: null };
  const checks: Check[] = [];
  const plan: PacPlan = { checks, facts, chosenIndex: -1, probes: [] };
  const noRoute = (why: string): PacPlan => (checks.push({ name: 'route', status: 'fail', detail: `no route: ${why}` }), plan);

  // 1. Loaded, as the router loads it: directly, never through a proxy.
  let kind: 'http' | 'file' = 'http';
  let text: string;
  const started = performance.now();
  try {
    kind = pacLocation(setting.url).kind;
    text = await loadPac(setting.url, { timeoutMs: PAC_FETCH_TIMEOUT_MS });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    checks.push({ name: 'pac fetch', status: 'fail', detail: failure(error), remedy: pacFetchRemedy(kind, detail) });
    return noRoute('the PAC could not be loaded, so requests that need it fail (never DIRECT)');
  }
  facts.fetched = true;
  facts.bytes = Buffer.byteLength(text);
  const how = kind === 'file' ? 'read from the file' : 'fetched directly, never through a proxy';
  checks.push({ name: 'pac fetch', status: 'ok', detail: `${facts.url} (${source}): ${facts.bytes} bytes in ${Math.round(performance.now() - started)} ms, ${how}` });

  // 2. Compiled in its sandbox (its top level runs then).
  try {
    (await CompiledPac.compile(setting.url, text)).dispose();
    checks.push({ name: 'pac compile', status: 'ok', detail: 'compiled in the QuickJS sandbox' });
  } catch (error) {
    checks.push({ name: 'pac compile', status: 'fail', detail: failure(error), remedy: pacScriptRemedy('compile') });
    return noRoute('the PAC does not compile, so requests that need it fail (never DIRECT)');
  }

  // 3. Asked about the target, bypass lists first.
  let routes: Route[];
  try {
    const decided = await pacRoutes(target, config, setting);
    routes = decided.routes;
    const { decision } = decided;
    if (!decision) {
      const rule = routes[0]?.type === 'direct' ? routes[0].rule : 'a bypass rule';
      checks.push({ name: 'pac answer', status: 'skip', detail: `not asked about ${target.host}: ${rule} decides first (the bypass lists come before the PAC)` });
    } else {
      const scheme = schemeClass(target.protocol) ?? target.protocol;
      facts.asked = `${scheme}//${target.host}/`;
      facts.answer = decision.raw;
      facts.entries = routes.map((r) => (r.type === 'direct' ? 'DIRECT' : r.proxy.redacted));
      facts.skipped = decision.skipped;
      const what = `FindProxyForURL("${facts.asked}", "${target.hostname}")${standIn ? " (doctor's stand-in: no URL given)" : ''} returned "${decision.raw}": tries ${facts.entries.join(', ')}`;
      checks.push(
        decision.skipped.length === 0
          ? { name: 'pac answer', status: 'ok', detail: what }
          : { name: 'pac answer', status: 'warn', detail: `${what}; skipped ${decision.skipped.join('; ')}`, remedy: 'the skipped entries are never tried (jaato-proxy speaks DIRECT, PROXY/HTTP and HTTPS entries)' },
      );
    }
  } catch (error) {
    const compiled = error instanceof PacEvaluationError && error.failure === 'compile';
    checks.push({ name: 'pac answer', status: 'fail', detail: failure(error), ...(error instanceof PacEvaluationError && { remedy: pacScriptRemedy(compiled ? 'compile' : 'answer') }) });
    return noRoute(`the PAC gave no answer for ${target.host}, so requests there fail (never DIRECT)`);
  }

  // 4. The route: the first entry a request would end on.
  const seen = new Set<string>();
  routes.forEach((route, index) => {
    if (route.type !== 'proxy' || seen.has(route.proxy.redacted)) return;
    seen.add(route.proxy.redacted);
    plan.probes.push({ route, index, label: `PAC entry ${index + 1} of ${routes.length}` });
  });
  const unreachable: number[] = [];
  for (const [index, route] of routes.entries()) {
    if (route.type === 'proxy') {
      try {
        (await dialProxy(route.proxy, dial)).destroy();
      } catch (error) {
        // Only a proxy that cannot be reached makes a request go on to the next entry (see unreachable.ts).
        if (proxyUnreachable(error)) {
          unreachable.push(index);
          continue;
        }
      }
    }
    plan.chosen = route;
    plan.chosenIndex = index;
    break;
  }
  const prefix = standIn ? `for ${target.href} (the stand-in): ` : '';
  const chosen = plan.chosen;
  if (!chosen) {
    plan.kerberosRoute = plan.probes[0]?.route;
    return noRoute(`${prefix}none of the PAC's ${routes.length} entries accepts connections, so requests fail`);
  }
  plan.rule = chosen.rule;
  facts.chosen = chosen.type === 'direct' ? 'DIRECT' : chosen.proxy.redacted;
  if (chosen.type === 'proxy') plan.kerberosRoute = chosen;
  const over = unreachable.length === 0 ? '' : `; ${unreachable.map((i) => `entry ${i + 1}`).join(', ')} cannot be reached, so requests fail over to this one`;
  checks.push({ name: 'route', status: 'ok', detail: `${prefix}${chosen.type === 'direct' ? `direct, because ${chosen.rule}` : `proxy ${chosen.proxy.redacted} (${chosen.rule}), auth ${chosen.auth}`}${over}` });
  return plan;
}

/**
 * A PAC proxy's lines judged by its place: the chosen one's stand; one before it could not be reached
 * and one after it is a fallback, so their failures are warnings while a request has somewhere to go.
 */
export function judgeProbe(plan: PacPlan, probe: PacProbe, checks: Check[]): Check[] {
  if (plan.chosen === undefined || probe.index === plan.chosenIndex) return checks;
  const next = plan.facts.chosen ?? '';
  const note =
    probe.index < plan.chosenIndex
      ? `; requests fail over to the next entry that can be reached (entry ${plan.chosenIndex + 1}, ${next})`
      : `; a fallback after entry ${plan.chosenIndex + 1} (${next}): used only when the entries before it cannot be reached`;
  return checks.map((c) => (c.status === 'fail' ? { ...c, status: 'warn', detail: `${c.detail}${note}` } : c));
}
