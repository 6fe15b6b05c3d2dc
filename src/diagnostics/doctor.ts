import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { explain } from '../config/explain.js';
import { PROXY_VARIABLES, type Env } from '../config/env.js';
import { resolveConfig, type ProxyConfig, type ProxyRoute } from '../config/proxy-config.js';
import { redactUrl } from '../redact.js';
import { JaatoProxyError, unwrapError } from '../errors.js';
import { loadKerberos } from '../auth/kerberos-addon.js';
import { KerberosError } from '../auth/errors.js';
import { generateSpnegoToken } from '../auth/spnego.js';
import { kerberosPlatform } from '../config/platform.js';
import { defaultSpn } from '../config/spn.js';
import { credentialsCheck, credentialsSource, type CredentialsEvidence, type CredentialsSource } from './credentials.js';
import { readTicketCache } from './ticket-cache.js';
import { checkProxy, type ProxyFacts } from './proxy-checks.js';
import { authCheck, originRemedy, tokenRemedy, tunnelRefusedRemedy, type SpnState } from './advice.js';
import { ProxyTunnelError } from '../transport/errors.js';
import { createFetch } from '../adapters/fetch.js';
import { transportOptions } from '../adapters/client-options.js';
import type { ProxyDispatcherOptions } from '../adapters/undici/proxy-dispatcher.js';
import { debugChannel } from '../debug.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: CheckStatus;
  /** What was found (safe to show: proxies redacted, no token). */
  detail: string;
  /** What to do, on warn or fail. */
  remedy?: string;
}

export interface DoctorOptions
  extends Pick<ProxyDispatcherOptions, 'ca' | 'proxyCa' | 'proxyTls' | 'proxy' | 'proxySource' | 'noProxy' | 'connectTimeout' | 'tokenTimeout'> {
  env?: Env;
  /** Whose Kerberos conventions apply (service-name form, klist, remedies); default `process.platform`. */
  platform?: NodeJS.Platform;
}

/** What doctor found about Kerberos: the `kerberos` object of `doctor --json`. */
export interface KerberosFacts {
  /** JAATO_KERBEROS_PROXY (or --proxy-negotiate) is on. */
  enabled: boolean;
  /** The service name asked for, in the platform's form; null when Kerberos is off or there is no proxy. */
  spn: string | null;
  /** `JAATO_KERBEROS_SPN` when it set the name, `proxy host` otherwise; null with `spn`. */
  spnSource: string | null;
  /** The client principal seen (klist, or the cache GSSAPI filled from a client keytab); null when none was seen. */
  principal: string | null;
  /** Where the credentials come from; null when that is not known (no token, no listing). */
  credentials: CredentialsSource | null;
  /** Whether a token for `spn` was made: the proof of the credentials. */
  token: 'made' | 'failed' | 'not tried';
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
  const kerberos: KerberosFacts = { enabled: false, spn: null, spnSource: null, principal: null, credentials: null, token: 'not tried' };
  const report: DoctorReport = { ok: false, url: url === undefined ? null : redactUrl(url), checks, proxies: [], kerberos };
  const done = (): DoctorReport => ((report.ok = !checks.some((c) => c.status === 'fail')), report);
  const routing = { env, ...(options.platform && { platform }), ...(options.proxy !== undefined && { proxy: options.proxy }), ...(options.proxySource && { proxySource: options.proxySource }), ...(options.noProxy !== undefined && { noProxy: options.noProxy }) };

  // 1. Proxy variables (or the option that replaces them).
  const set = PROXY_VARIABLES['https:'].filter((n) => env[n]);
  if (options.proxy !== undefined) add({ name: 'proxy variables', status: 'ok', detail: `${options.proxySource ?? 'options.proxy'}=${redactUrl(options.proxy)}, instead of the variables` });
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

  // 3. The route (for the URL), else the proxies configured for each scheme.
  const e = url === undefined ? undefined : explain(url, env, routing);
  if (e) {
    if (e.route === 'error') return add({ name: 'route', status: 'fail', detail: e.rule }) && done();
    add({ name: 'route', status: 'ok', detail: e.route === 'direct' ? `direct, because ${e.rule}` : `proxy ${e.proxy} (${e.rule}), auth ${e.auth}` });
  }
  const routes = proxiedRoutes(config, url);
  // The proxy whose service Kerberos is checked against: the URL's, else the https one.
  const main = routes[0]?.route;

  // 4-8. Kerberos.
  let spn: SpnState | undefined;
  if (!config.kerberos) {
    add({ name: 'kerberos', status: 'skip', detail: 'JAATO_KERBEROS_PROXY is off: no Negotiate', remedy: 'export JAATO_KERBEROS_PROXY=true if the proxy wants Kerberos' });
  } else {
    kerberos.enabled = true;
    add({ name: 'kerberos', status: 'ok', detail: 'JAATO_KERBEROS_PROXY is on' });
    if (main?.spn) {
      const hostDefault = defaultSpn(main.proxy.hostname, platform);
      spn = { spn: main.spn, source: config.spnSource, hostDefault, ipLiteral: isIP(main.proxy.hostname) !== 0 };
      kerberos.spn = main.spn;
      kerberos.spnSource = config.spnSource ?? 'proxy host';
    }
    let addon = false;
    try {
      await loadKerberos(spn?.spn ?? defaultSpn('proxy', platform), platform);
      const version = (createRequire(import.meta.url)('kerberos/package.json') as { version: string }).version;
      add({ name: 'kerberos addon', status: 'ok', detail: `kerberos ${version} loaded` });
      addon = true;
    } catch (err) {
      // The addon's error speaks of a token for a service; here it is only about the package.
      const detail = err instanceof KerberosError ? err.message.slice(err.message.indexOf(': ') + 2).replace(`. ${err.remedy}`, '') : fail(err);
      add({ name: 'kerberos addon', status: 'fail', detail, remedy: kerberosPlatform(platform).remedies.addonMissing });
    }
    // The proof of the credentials is a token for the proxy's service, whatever holds them (a ticket
    // cache, a client keytab, the Windows logon); klist, where there is one, only adds who and until when.
    const processEnv = env as NodeJS.ProcessEnv;
    const before = await readTicketCache(processEnv, platform);
    const seen = before.listing?.principal;
    let token: Check | undefined;
    if (main && spn && addon) {
      const timeout = options.tokenTimeout ?? options.connectTimeout;
      try {
        const made = await generateSpnegoToken(main.proxy.hostname, { spn: spn.spn, platform, ...(timeout !== undefined && { timeout }) });
        token = { name: 'token', status: 'ok', detail: `a ${Buffer.from(made, 'base64').length}-byte SPNEGO token for ${spn.spn} (not shown)` };
      } catch (err) {
        const remedy = tokenRemedy(err, spn, seen);
        token = { name: 'token', status: 'fail', detail: fail(err), ...(remedy && { remedy }) };
      }
    }
    const evidence: CredentialsEvidence = {
      before,
      token: token === undefined ? 'not tried' : token.status === 'ok' ? 'made' : 'failed',
      clientKeytab: env.KRB5_CLIENT_KTNAME,
      platform,
    };
    if (evidence.token === 'made' && before.klist === 'ran' && !before.valid) evidence.after = await readTicketCache(processEnv, platform);
    add(credentialsCheck(evidence));
    kerberos.token = evidence.token;
    kerberos.principal = (evidence.after?.listing?.principal ?? seen) || null;
    kerberos.credentials = credentialsSource(evidence) ?? null;
    if (!spn) add({ name: 'spn', status: 'skip', detail: 'no proxy, no service principal' });
    else add({ name: 'spn', status: 'ok', detail: `${spn.spn} (${spn.source ?? 'from the proxy host'})` });
    if (token) add(token);
  }

  // 9. Each proxy: what it demands without credentials, then whether it takes ours.
  const transport = transportOptions(options);
  const target = new URL(url ?? DEFAULT_TARGET);
  for (const { route, variables } of routes) {
    const probed = await checkProxy(route, target, variables, { spn, principal: kerberos.principal ?? undefined }, transport);
    for (const c of probed.checks) add(c);
    report.proxies.push(probed.facts);
  }
  if (!url || e?.route !== 'proxy' || !main) return done();

  // 10. The URL itself, through the proxy.
  const events: string[] = [];
  const onEvent = (m: unknown): void => void events.push((m as { message: string }).message);
  subscribe(debugChannel.name, onEvent);
  const { env: _env, ...explicit } = routing;
  const fetch = createFetch({ env, ...explicit, ...pick(options, 'ca', 'proxyCa', 'proxyTls', 'connectTimeout', 'tokenTimeout') });
  const started = performance.now();
  try {
    const res = await fetch(url, { redirect: 'manual' });
    await res.arrayBuffer();
    const retried = events.some((m) => m.includes(': 407 '));
    add({ name: 'fetch', status: 'ok', detail: `${res.status} ${res.statusText} in ${Math.round(performance.now() - started)} ms (${retried ? 'after a 407' : 'pre-authenticated, no 407'})` });
  } catch (err) {
    const error = unwrapError(err);
    // A failure at the proxy gets the same remedy as the proxy's own lines.
    const place = { variable: main.proxy.source, host: main.proxy.hostname, port: main.proxy.port, tls: main.proxy.protocol === 'https:' };
    if (error instanceof ProxyTunnelError && error.statusCode !== undefined) {
      add({ name: 'fetch', status: 'fail', detail: fail(error), remedy: tunnelRefusedRemedy(error.statusCode) });
    } else if (error instanceof JaatoProxyError) {
      const setting = { kerberos: config.kerberos, basicCredentials: main.proxy.credentials !== undefined, variable: main.proxy.source, spn, principal: kerberos.principal ?? undefined };
      const judged = authCheck({ ok: false, error }, '', setting, place);
      add({ ...judged, name: 'fetch' });
    } else {
      const remedy = originRemedy(error);
      add({ name: 'fetch', status: 'fail', detail: fail(error), ...(remedy && { remedy }) });
    }
  } finally {
    unsubscribe(debugChannel.name, onEvent);
    await fetch.dispatcher.close();
  }
  return done();
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * The proxies to probe: the URL's route when given one (none when it goes direct), else the proxy of
 * each scheme, once per distinct proxy, with every variable that names it.
 */
function proxiedRoutes(config: ProxyConfig, url: string | undefined): Array<{ route: ProxyRoute; variables: string[] }> {
  const targets = url === undefined ? ['https://example.com/', 'http://example.com/'] : [url];
  const out: Array<{ route: ProxyRoute; variables: string[] }> = [];
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
    } else {
      out.push({ route, variables: [route.proxy.source] });
    }
  }
  return out;
}
