import { explain } from '../config/explain.js';
import { PROXY_VARIABLES, type Env } from '../config/env.js';
import { resolveConfig, type ProxyConfig, type ProxyRoute } from '../config/proxy-config.js';
import { redactUrl } from '../redact.js';
import { JaatoProxyError, unwrapError } from '../errors.js';
import { KerberosError } from '../auth/errors.js';
import { ntlmMechanism } from '../auth/ntlm.js';
import { ProxyMutualAuthError, ProxyTunnelError } from '../transport/errors.js';
import { createFetch } from '../adapters/fetch.js';
import { transportOptions, type ProxyClientOptions } from '../transport/options.js';
import { authCheck, directRemedy, fetchAuthNote, mutualAuthRemedy, originRemedy, sentWith, tunnelRefusedRemedy, type AuthSetting } from './advice.js';
import { checkKerberos, KERBEROS_OFF, spnStateOf, type KerberosFacts } from './kerberos-checks.js';
import { judgeProbe, planPac, type PacFacts, type PacPlan, type PacProbe } from './pac-checks.js';
import { checkProxy, type ProxyFacts } from './proxy-checks.js';
import { pacSetting } from '../pac/pac-route.js';
import { systemPac } from '../config/system/settings.js';
import { systemSettingsFor } from '../system/system-source.js';
import { countTokens } from './token-count.js';
import { checkServeClientAuth } from './serve-checks.js';

export type { KerberosFacts } from './kerberos-checks.js';
export type { PacFacts } from './pac-checks.js';

import type { Check } from './check.js';

export type { Check, CheckStatus } from './check.js';

export interface DoctorOptions
  extends Pick<ProxyClientOptions, 'ca' | 'proxyCa' | 'proxyTls' | 'rejectUnauthorized' | 'proxy' | 'proxySource' | 'noProxy' | 'kerberos' | 'connectTimeout' | 'tokenTimeout' | 'requireMutualAuth'> {
  env?: Env;
  /** What set `noProxy` to turn every proxy off (the CLI's `-x ""`), for the proxy-variables line. */
  noProxySource?: string;
  /** What set `kerberos` (the CLI's `--proxy-negotiate`), for the kerberos line; default `options.kerberos`. */
  kerberosSource?: string;
  /** Whose Kerberos conventions apply (service-name form, klist, remedies); default `process.platform`. */
  platform?: NodeJS.Platform;
  /** A PAC file (http(s)://, file:// or a path) instead of `JAATO_PAC_URL`, as the library's `pac` option. */
  pac?: string;
  /** What set `pac` (the CLI's `--pac`), for the PAC lines; default `options.pac`. */
  pacSource?: string;
}

/** `doctor --json`: the same keys every time, null where one does not apply. */
export interface DoctorReport {
  ok: boolean;
  /** The URL checked, credentials masked; null without one. */
  url: string | null;
  checks: Check[];
  /** Each proxy probed: the URL's, or without a URL every configured one. */
  proxies: ProxyFacts[];
  kerberos: KerberosFacts;
  /** The PAC, its answer and the entry chosen; null without a PAC. */
  pac: PacFacts | null;
}

function fail(e: unknown): string {
  return e instanceof JaatoProxyError && !(e instanceof KerberosError) ? `${e.message} [${e.code}]` : e instanceof Error ? e.message : String(e);
}

/** The target doctor probes the proxies with when given no URL: a CONNECT to it, as any https request would. */
const DEFAULT_TARGET = 'https://example.com/';

/**
 * `jaato-proxy doctor`: every link of the chain checked in order, each with what was found and, when it
 * fails, the remedy. Every configured proxy (the URL's, when one is given) is asked what it demands,
 * without credentials, then with them; with a URL, the URL is fetched through it too.
 */
export async function runDoctor(url: string | undefined, options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const checks: Check[] = [];
  const add = (c: Check): Check => (checks.push(c), c);
  const kerberos: KerberosFacts = { ...KERBEROS_OFF };
  const report: DoctorReport = { ok: false, url: url === undefined ? null : redactUrl(url), checks, proxies: [], kerberos, pac: null };
  const done = (): DoctorReport => {
    // Kerberos on and broken is no failure where no proxy asks for it and every proxy took what was sent.
    if (kerberos.enabled && unneeded(report.proxies, checks)) {
      for (const c of checks) {
        if (KERBEROS_LINES.has(c.name) && c.status === 'fail') Object.assign(c, { status: 'warn', detail: `${c.detail}; not needed now: no proxy asks for Negotiate` });
      }
    }
    report.ok = !checks.some((c) => c.status === 'fail');
    return report;
  };
  // With no proxy variable or option set, the OS's settings are the source, as in every client.
  const system = systemSettingsFor(env, { ...(options.proxy !== undefined && { proxy: options.proxy }), ...(options.pac !== undefined && { pac: options.pac }) });
  const routing = { env, ...(options.platform && { platform }), ...(options.proxy !== undefined && { proxy: options.proxy }), ...(options.proxySource && { proxySource: options.proxySource }), ...(options.noProxy !== undefined && { noProxy: options.noProxy }), ...(options.kerberos !== undefined && { kerberos: options.kerberos }), ...(system && { system }) };

  // 1. Proxy variables (or the option that replaces them, or the PAC that wins over both).
  const set = PROXY_VARIABLES['https:'].filter((n) => env[n]);
  const pac = pacSetting(options.pac, env) ?? systemPac(system);
  if (system) add({ name: 'system proxy settings', status: system.problems.length > 0 ? 'warn' : 'ok', detail: `${system.source}: mode ${system.mode}${system.problems.length > 0 ? `; ${system.problems.join('; ')}` : ''}`, ...(system.problems.length > 0 && { remedy: 'fix the settings named above, or set HTTPS_PROXY (or JAATO_SYSTEM_PROXY=off) to leave them aside' }) });
  const pacSource = pac && (pac.source === 'options.pac' ? (options.pacSource ?? 'options.pac') : pac.source);
  // -x "": every connection direct, before any PAC is asked.
  const noneAtAll = options.proxy === undefined && options.noProxy !== undefined && options.noProxySource;
  if (pacSource && !noneAtAll) {
    add(pacPrecedence(pacSource, options.proxy !== undefined ? [options.proxySource ?? 'options.proxy'] : set));
  } else if (noneAtAll) {
    add({ name: 'proxy variables', status: 'ok', detail: `${options.noProxySource}: no proxy, every connection goes direct${set.length > 0 ? ` (${set.join(', ')} set aside)` : ''}` });
  } else if (options.proxy !== undefined) add({ name: 'proxy variables', status: 'ok', detail: `${options.proxySource ?? 'options.proxy'}=${redactUrl(options.proxy)}, instead of the variables` });
  else if (system) add({ name: 'proxy variables', status: 'ok', detail: set.length === 0 ? `none set: the OS's settings are the source (${system.source})` : `${set.join(', ')} set aside: JAATO_SYSTEM_PROXY=on makes the OS's settings the source (${system.source})` });
  else add({ name: 'proxy variables', status: set.length > 0 ? 'ok' : 'warn', detail: set.length > 0 ? set.map((n) => `${n}=${redactUrl(env[n] as string)}`).join(', ') : 'none set: every connection goes direct', ...(set.length === 0 && { remedy: 'export HTTPS_PROXY=http://proxy.corp:8080' }) });

  // 2. Bypass lists and any other warning about the configuration.
  let config: ProxyConfig;
  try {
    config = resolveConfig(routing);
  } catch (e) {
    add({ name: 'configuration', status: 'fail', detail: fail(e) });
    return done();
  }
  const lists = `JAATO_NO_PROXY: ${config.exact.size} exact host(s); ${config.noProxy.variable}: ${config.noProxy.matchesAll ? 'everything (*)' : config.noProxy.isEmpty ? 'empty' : 'set'}`;
  add({ name: 'bypass lists', status: config.warnings.length > 0 ? 'warn' : 'ok', detail: config.warnings.length > 0 ? `${lists}; ${config.warnings.join('; ')}` : lists, ...(config.warnings.length > 0 && { remedy: 'fix or remove the entries named above' }) });

  // A proxy on this machine that is jaato-proxy serve: is its client credential in force, and the URL's accepted?
  const local = [config.proxyFor('https:'), config.proxyFor('http:')].filter((p, i, all) => p && all.findIndex((q) => q?.origin === p.origin) === i);
  for (const p of local) {
    const line = p && (await checkServeClientAuth(p));
    if (line) add(line);
  }

  // 3. The route (for the URL), else the proxies configured for each scheme; with a PAC, what it answers.
  const clientOptions: ProxyClientOptions = { env, ...explicitRouting(routing), ...pick(options, 'ca', 'proxyCa', 'proxyTls', 'rejectUnauthorized', 'connectTimeout', 'tokenTimeout'), ...(pac && { pac: pac.url }) };
  const transport = { ...transportOptions(options), ...(url === undefined && { standIn: true, forward: (t: URL) => forwardedHead(t, clientOptions) }) };
  let routes: Probe[];
  let plan: PacPlan | undefined;
  // The rule that routed the URL, for the fetch line's remedy; undefined when it has no route.
  let rule: string | undefined;
  if (pac && pacSource) {
    plan = await planPac(pac, pacSource, new URL(url ?? DEFAULT_TARGET), url === undefined, config, { timeout: transport.timeout, ...(transport.proxyTls && { proxyTls: transport.proxyTls }) });
    for (const c of plan.checks) add(c);
    report.pac = plan.facts;
    rule = plan.rule;
    routes = plan.probes.map((p) => ({ route: p.route, variables: [p.label], target: new URL(url ?? DEFAULT_TARGET), pac: p }));
    // A PAC that gives no answer leaves nothing to check a proxy or the URL with.
    if (plan.checks.some((c) => c.name.startsWith('pac ') && c.status === 'fail')) return done();
  } else {
    const e = url === undefined ? undefined : explain(url, env, routing);
    if (e) {
      if (e.route === 'error') return add({ name: 'route', status: 'fail', detail: e.rule }) && done();
      add({ name: 'route', status: 'ok', detail: e.route === 'direct' ? `direct, because ${e.rule}` : `proxy ${e.proxy} (${e.rule}), auth ${e.auth}` });
      rule = e.rule;
    }
    routes = proxiedRoutes(config, url);
  }
  // The proxy whose service Kerberos is checked against: the URL's (the PAC's chosen one), else the https one.
  const main = plan ? plan.kerberosRoute : routes[0]?.route;

  // 4-8. Kerberos, for that proxy.
  const switchName = options.kerberos !== undefined ? (options.kerberosSource ?? 'options.kerberos') : undefined;
  const k = await checkKerberos(config, main, { env, platform, tokenTimeout: options.tokenTimeout ?? options.connectTimeout, switchName });
  for (const c of k.checks) add(c);
  Object.assign(kerberos, k.facts);
  const spn = k.spn;

  // 9. Each proxy: what it demands without credentials, then whether it takes ours (without a URL there
  // is no fetch line: a proxy used for http: alone is asked with a forwarded HEAD). A PAC's proxies each
  // with their own service name, judged by their place in the answer.
  for (const { route, variables, target, forwarded, pac: entry } of routes) {
    const own = entry && route !== main ? spnStateOf(config, route, platform) : spn;
    const probed = await checkProxy(route, target, variables, { spn: own, principal: kerberos.principal ?? undefined }, { ...transport, scheme: { setting: config.proxyAuth, kerberos: config.kerberos, ntlmMechanism: ntlmMechanism(env, platform) }, ...(forwarded && { forwardedTarget: forwarded }) });
    for (const c of plan && entry ? judgeProbe(plan, entry, probed.checks) : probed.checks) add(c);
    report.proxies.push(probed.facts);
  }
  // Kerberos off was said before the proxies answered: where none of them wants it, there is nothing to do.
  const off = checks.find((c) => c.name === 'kerberos' && c.status === 'skip');
  if (off && noneAsksForNegotiate(report.proxies, checks)) {
    off.detail += ', and no proxy asks for it';
    delete off.remedy;
  }
  if (!url || rule === undefined) return done();

  // 10. The URL itself, through the proxy or directly as routed (with a PAC, as a request asks it, failover included).
  // The fetch is the program's own request: mutual authentication required of it as configured.
  const fetch = createFetch({ ...clientOptions, ...(options.requireMutualAuth && { requireMutualAuth: true }) });
  const tokens = countTokens(main?.spn);
  const started = performance.now();
  try {
    const res = await fetch(url, { redirect: 'manual' });
    await res.arrayBuffer();
    const how = main ? fetchAuthNote(main.auth, tokens.count, authSetting(main), report.proxies[0]?.offers ?? []) : 'direct';
    add({ name: 'fetch', status: 'ok', detail: `${res.status} ${res.statusText} in ${Math.round(performance.now() - started)} ms (${how})` });
  } catch (err) {
    const error = unwrapError(err);
    if (!main) {
      const remedy = originRemedy(error) ?? directRemedy(error, rule);
      add({ name: 'fetch', status: 'fail', detail: fail(error), remedy });
      return done();
    }
    // A failure at the proxy gets the same remedy as the proxy's own lines.
    const place = { variable: main.proxy.source, host: main.proxy.hostname, port: main.proxy.port, tls: main.proxy.protocol === 'https:' };
    if (error instanceof ProxyTunnelError && error.statusCode !== undefined) {
      add({ name: 'fetch', status: 'fail', detail: fail(error), remedy: tunnelRefusedRemedy(error.statusCode) });
    } else if (error instanceof ProxyMutualAuthError) {
      const path = new URL(url).protocol === 'http:' ? 'forwarded' : 'CONNECT';
      add({ name: 'fetch', status: 'fail', detail: fail(error), remedy: mutualAuthRemedy(error.reason, path, main.spn) });
    } else if (error instanceof JaatoProxyError) {
      const setting = { ...authSetting(main), spn, principal: kerberos.principal ?? undefined, sent: sentWith(tokens.count, authSetting(main), report.proxies[0]?.offers ?? []) };
      const judged = authCheck({ ok: false, error }, '', setting, place);
      add({ ...judged, name: 'fetch' });
    } else {
      const remedy = originRemedy(error);
      add({ name: 'fetch', status: 'fail', detail: fail(error), ...(remedy && { remedy }) });
    }
  } finally {
    tokens.stop();
    await fetch.dispatcher.close();
  }
  return done();
}

/** The Kerberos section's lines, which a proxy that never asks for Negotiate makes moot. */
const KERBEROS_LINES = new Set(['kerberos library', 'ticket', 'token']);

/**
 * Every proxy answered and none offered Negotiate. A proxy whose line only warns refused doctor's
 * stand-in target before asking for anything, so what it wants is not known.
 */
function noneAsksForNegotiate(proxies: readonly ProxyFacts[], checks: readonly Check[]): boolean {
  return proxies.length > 0 && proxies.every((p) => p.reachable && !p.offers.includes('negotiate')) && !checks.some((c) => c.name === 'proxy' && c.status === 'warn');
}

/** No proxy asks for Negotiate, and nothing failed outside the Kerberos lines: what was sent was taken. */
function unneeded(proxies: readonly ProxyFacts[], checks: readonly Check[]): boolean {
  return noneAsksForNegotiate(proxies, checks) && checks.every((c) => c.status !== 'fail' || KERBEROS_LINES.has(c.name));
}

function authSetting(route: ProxyRoute): AuthSetting {
  return { kerberos: route.auth === 'negotiate', basicCredentials: route.proxy.credentials !== undefined, variable: route.proxy.source };
}

/** A HEAD through the library's own forwarding, as any http: request goes; its status, or the typed error. */
async function forwardedHead(target: URL, options: ProxyClientOptions): Promise<string> {
  const fetch = createFetch(options);
  try {
    const res = await fetch(target, { method: 'HEAD', redirect: 'manual' });
    await res.arrayBuffer();
    return `answered ${res.status} ${res.statusText}`.trimEnd();
  } catch (error) {
    throw unwrapError(error);
  } finally {
    await fetch.dispatcher.destroy();
  }
}

/** The routing options without the environment (given apart). */
function explicitRouting<T extends { env: unknown }>(routing: T): Omit<T, 'env'> {
  const { env: _env, ...explicit } = routing;
  return explicit;
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** One proxy to probe: its route, what names it, the target to probe it with; a PAC's, with its place in the answer. */
interface Probe {
  route: ProxyRoute;
  variables: string[];
  target: URL;
  forwarded?: URL;
  pac?: PacProbe;
}

/** The PAC wins over the proxy variables and -x (as explain says): the proxy-variables line says which applies. */
function pacPrecedence(pacSource: string, named: readonly string[]): Check {
  const chooses = `${pacSource} is set, so the PAC chooses the proxy`;
  if (named.length === 0) return { name: 'proxy variables', status: 'ok', detail: `none set; ${chooses}` };
  return { name: 'proxy variables', status: 'ok', detail: `${chooses}: ${named.join(', ')} ${named.length === 1 ? 'is' : 'are'} not used` };
}

/**
 * The proxies to probe and the target to probe each with: the URL's route when given one (none when
 * it goes direct), else the proxy of each scheme, once per distinct proxy, with every variable that
 * names it.
 */
function proxiedRoutes(config: ProxyConfig, url: string | undefined): Probe[] {
  const targets = url === undefined ? [DEFAULT_TARGET, DEFAULT_TARGET.replace('https:', 'http:')] : [url];
  const out: Probe[] = [];
  for (const t of targets) {
    let route;
    try {
      route = config.route(t);
    } catch {
      continue; // a malformed variable: reported by the bypass-lists line's warnings
    }
    if (route.type !== 'proxy') continue;
    const same = out.find((o) => o.route.proxy.redacted === route.proxy.redacted && o.route.proxy.credentials?.password === route.proxy.credentials?.password);
    if (same) {
      if (!same.variables.includes(route.proxy.source)) same.variables.push(route.proxy.source);
      // It forwards http: requests too: how it authenticates those is seen with this target.
      same.forwarded = new URL(t);
    } else {
      // Probed as it is used: a proxy of both schemes (the usual case) with a CONNECT, the first target.
      out.push({ route, variables: [route.proxy.source], target: new URL(t) });
    }
  }
  return out;
}
