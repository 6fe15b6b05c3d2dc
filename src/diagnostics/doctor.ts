import { createRequire } from 'node:module';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { explain } from '../config/explain.js';
import { PROXY_VARIABLES, type Env } from '../config/env.js';
import { resolveConfig } from '../config/proxy-config.js';
import { redactUrl } from '../redact.js';
import { unwrapError } from '../errors.js';
import { loadKerberos } from '../auth/kerberos-addon.js';
import { KerberosError } from '../auth/errors.js';
import { generateSpnegoToken } from '../auth/spnego.js';
import { kerberosPlatform } from '../config/platform.js';
import { defaultSpn } from '../config/spn.js';
import { credentialsCheck, type CredentialsEvidence } from './credentials.js';
import { readTicketCache } from './ticket-cache.js';
import { probeProxy } from '../transport/probe.js';
import { createFetch } from '../adapters/fetch.js';
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

export interface DoctorOptions extends Pick<ProxyDispatcherOptions, 'ca' | 'connectTimeout' | 'tokenTimeout'> {
  env?: Env;
  /** Whose Kerberos conventions apply (service-name form, klist, remedies); default `process.platform`. */
  platform?: NodeJS.Platform;
}

function fail(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * `jaato-proxy doctor`: every link of the chain checked in order, each with what was found and, when it
 * fails, the remedy. With a URL it also asks the proxy what it demands and fetches the URL through it.
 */
export async function runDoctor(url: string | undefined, options: DoctorOptions = {}): Promise<Check[]> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const checks: Check[] = [];
  const add = (c: Check): Check => (checks.push(c), c);

  // 1. Proxy variables.
  const set = PROXY_VARIABLES['https:'].filter((n) => env[n]);
  add({ name: 'proxy variables', status: set.length > 0 ? 'ok' : 'warn', detail: set.length > 0 ? set.map((n) => `${n}=${redactUrl(env[n] as string)}`).join(', ') : 'none set: every connection goes direct', ...(set.length === 0 && { remedy: 'export HTTPS_PROXY=http://proxy.corp:8080' }) });

  // 2. Bypass lists and any other warning about the configuration.
  let config;
  try {
    config = resolveConfig(options.platform ? { env, platform } : { env });
  } catch (e) {
    add({ name: 'configuration', status: 'fail', detail: fail(e) });
    return checks;
  }
  const lists = `JAATO_NO_PROXY: ${config.exact.size} exact host(s); ${config.noProxy.variable}: ${config.noProxy.matchesAll ? 'everything (*)' : config.noProxy.isEmpty ? 'empty' : 'set'}`;
  add({ name: 'bypass lists', status: config.warnings.length > 0 ? 'warn' : 'ok', detail: config.warnings.length > 0 ? `${lists}; ${config.warnings.join('; ')}` : lists, ...(config.warnings.length > 0 && { remedy: 'fix or remove the entries named above' }) });

  // 3. The route.
  const target = url ?? 'https://example.com/';
  const e = explain(target, env, options.platform ? { platform } : {});
  if (url) {
    if (e.route === 'error') return add({ name: 'route', status: 'fail', detail: e.rule }) && checks;
    add({ name: 'route', status: 'ok', detail: e.route === 'direct' ? `direct, because ${e.rule}` : `proxy ${e.proxy} (${e.rule}), auth ${e.auth}` });
  }
  // Without a URL, the https proxy: the seed's order (HTTPS_PROXY, then HTTP_PROXY) is its fallback chain.
  let proxy;
  try {
    proxy = config.proxyFor(url ? new URL(url).protocol : 'https:');
  } catch {
    proxy = undefined; // malformed: already reported by the bypass-lists line's warnings
  }

  // 4-8. Kerberos.
  if (!config.kerberos) {
    add({ name: 'kerberos', status: 'skip', detail: 'JAATO_KERBEROS_PROXY is off: no Negotiate', remedy: 'export JAATO_KERBEROS_PROXY=true if the proxy wants Kerberos' });
  } else {
    add({ name: 'kerberos', status: 'ok', detail: 'JAATO_KERBEROS_PROXY is on' });
    let addon = false;
    try {
      await loadKerberos(defaultSpn('doctor', platform), platform);
      const version = (createRequire(import.meta.url)('kerberos/package.json') as { version: string }).version;
      add({ name: 'kerberos addon', status: 'ok', detail: `kerberos ${version} loaded` });
      addon = true;
    } catch (err) {
      add({ name: 'kerberos addon', status: 'fail', detail: fail(err), remedy: kerberosPlatform(platform).remedies.addonMissing });
    }
    // The proof of the credentials is a token for the proxy's service, whatever holds them (a ticket
    // cache, a client keytab, the Windows logon); klist, where there is one, only adds who and until when.
    const processEnv = env as NodeJS.ProcessEnv;
    const before = await readTicketCache(processEnv, platform);
    const spn = proxy ? config.spnFor(proxy) : undefined;
    let token: Check | undefined;
    if (proxy && spn && addon) {
      const timeout = options.tokenTimeout ?? options.connectTimeout;
      try {
        const made = await generateSpnegoToken(proxy.hostname, { spn, platform, ...(timeout !== undefined && { timeout }) });
        token = { name: 'token', status: 'ok', detail: `a ${Buffer.from(made, 'base64').length}-byte SPNEGO token for ${spn} (not shown)` };
      } catch (err) {
        // The typed error's message carries the remedy; it is repeated on its own line.
        token = { name: 'token', status: 'fail', detail: fail(err), ...(err instanceof KerberosError && err.remedy && { remedy: err.remedy }) };
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
    if (!proxy || !spn) add({ name: 'spn', status: 'skip', detail: 'no proxy, no service principal' });
    else add({ name: 'spn', status: 'ok', detail: `${spn} (${config.spnSource ?? 'from the proxy host'})` });
    if (token) add(token);
  }

  if (!url || e.route !== 'proxy') return checks;

  // 9. What the proxy demands.
  if (proxy) {
    try {
      const probe = await probeProxy(proxy, new URL(url), { timeout: options.connectTimeout ?? 10_000 });
      const offered = probe.offered.map((s) => s[0]?.toUpperCase() + s.slice(1));
      const detail = `${proxy.redacted} answered ${probe.statusCode} ${probe.statusText} in ${probe.ms} ms${offered.length ? `; offers ${offered.join(', ')}` : ''}`;
      const mismatch = probe.statusCode === 407 && probe.offered.includes('negotiate') && !config.kerberos;
      add({ name: 'proxy', status: mismatch ? 'fail' : 'ok', detail, ...(mismatch && { remedy: 'the proxy wants Negotiate: export JAATO_KERBEROS_PROXY=true' }) });
    } catch (err) {
      add({ name: 'proxy', status: 'fail', detail: fail(err), remedy: 'check the proxy address, the network or VPN' });
    }
  }

  // 10. The URL itself, through the proxy.
  const events: string[] = [];
  const onEvent = (m: unknown): void => void events.push((m as { message: string }).message);
  subscribe(debugChannel.name, onEvent);
  const fetch = createFetch({ env, ...(options.ca !== undefined && { ca: options.ca }), ...(options.connectTimeout !== undefined && { connectTimeout: options.connectTimeout }) });
  const started = performance.now();
  try {
    const res = await fetch(url, { redirect: 'manual' });
    await res.arrayBuffer();
    const retried = events.some((m) => m.includes(': 407 '));
    add({ name: 'fetch', status: 'ok', detail: `${res.status} ${res.statusText} in ${Math.round(performance.now() - started)} ms (${retried ? 'after a 407' : 'pre-authenticated, no 407'})` });
  } catch (err) {
    add({ name: 'fetch', status: 'fail', detail: fail(unwrapError(err)) });
  } finally {
    unsubscribe(debugChannel.name, onEvent);
    await fetch.dispatcher.close();
  }
  return checks;
}
