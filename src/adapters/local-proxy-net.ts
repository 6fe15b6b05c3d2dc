/**
 * The safety net of the global install (`install({ localProxy: true })`, `JAATO_LOCAL_PROXY=true`):
 * the local authenticating proxy, started inside this process, and this process's proxy variables
 * pointed at it. Libraries that read `HTTPS_PROXY` themselves and build agents of their own (Azure
 * core, axios) and every child process (git, curl, pip, npm) then reach the real proxy through it,
 * with a fresh Negotiate token per upstream connection, and need no Kerberos of their own.
 */
import { InvalidOptionError } from '../config/errors.js';
import { parseKerberosFlag, type Env } from '../config/env.js';
import { resolveConfig } from '../config/proxy-config.js';
import { debug } from '../debug.js';
import { startLocalProxy, type LocalProxy } from '../server/local-proxy.js';
import { routingOptions } from './client-options.js';
import type { ProxyDispatcherOptions } from './undici/proxy-dispatcher.js';

/** The proxy variables children and self-routing libraries read: all four spellings point at the local proxy. */
const POINTED = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'] as const;

/**
 * Removed while the net is up: they describe how to authenticate to the real proxy, and the local one
 * takes no credentials. A child running jaato-proxy itself (NODE_OPTIONS=--import jaato-proxy/register)
 * would otherwise send a Negotiate token for `HTTP@127.0.0.1` to the loopback proxy, and fail.
 */
const REMOVED = ['JAATO_KERBEROS_PROXY', 'JAATO_KERBEROS_SPN'] as const;

/** Names the local proxy's URL, so `jaato-proxy explain` in a child can say what HTTPS_PROXY is. */
export const LOCAL_PROXY_URL_VARIABLE = 'JAATO_LOCAL_PROXY_URL';

/** `JAATO_LOCAL_PROXY`: true/1/yes on, false/0/no/unset off; anything else is a configuration error (not a silent off). */
export function localProxyRequested(env: Env = process.env): boolean {
  const value = env.JAATO_LOCAL_PROXY;
  const flag = parseKerberosFlag(value, 'JAATO_LOCAL_PROXY');
  if (flag.warning) throw new InvalidOptionError('JAATO_LOCAL_PROXY', `"${value}" is not one of true/1/yes or false/0/no (it turns on the in-process local proxy for self-routing clients and child processes)`);
  return flag.enabled;
}

/** What the net changed in the environment: each variable's new value (undefined: removed) and what it was. */
export interface EnvironmentChange {
  variable: string;
  /** The value before (undefined: it was not set). */
  before: string | undefined;
  /** The value now (undefined: removed). */
  after: string | undefined;
}

/** The changes that point an environment at the local proxy at `url` (pure: applied by the caller). */
export function netChanges(env: Env, url: string): EnvironmentChange[] {
  const changes: EnvironmentChange[] = [];
  for (const variable of [...POINTED, LOCAL_PROXY_URL_VARIABLE]) changes.push({ variable, before: env[variable], after: url });
  for (const variable of REMOVED) if (env[variable] !== undefined) changes.push({ variable, before: env[variable], after: undefined });
  return changes;
}

/** The origin of the local proxy that `JAATO_LOCAL_PROXY_URL` names, if it is set and parses. */
function parentLocalProxy(env: Env): string | undefined {
  try {
    const value = env[LOCAL_PROXY_URL_VARIABLE];
    return value ? new URL(value).origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * For `jaato-proxy explain`: a line saying that `proxy` (as explain shows it) is the in-process local
 * proxy of a program under the safety net, when it is; the environment alone shows just a loopback URL.
 */
export function localProxyNote(env: Env, proxy: string | null): string | undefined {
  const parent = parentLocalProxy(env);
  if (!parent || !proxy || new URL(proxy).origin !== parent) return undefined;
  return `the in-process local proxy of a program run with JAATO_LOCAL_PROXY (or install({ localProxy: true })): it authenticates to that program's real proxy, so this process needs no credentials (${LOCAL_PROXY_URL_VARIABLE})`;
}

function apply(target: NodeJS.ProcessEnv, changes: readonly EnvironmentChange[], side: 'before' | 'after'): void {
  for (const change of changes) {
    const value = change[side];
    if (value === undefined) delete target[change.variable];
    else target[change.variable] = value;
  }
}

/** The running net: the local proxy, and how to put the environment back. */
export interface SafetyNet {
  /** The local proxy's URL, e.g. `http://127.0.0.1:40111`. */
  readonly url: string;
  /** What was changed in `process.env` (values as set; proxy URLs in `before` may carry credentials: show them redacted). */
  readonly changes: readonly EnvironmentChange[];
  /** Puts every variable back exactly (an unset one unset again) and stops the local proxy. */
  stop(): Promise<void>;
}

/**
 * Starts the local proxy on a free 127.0.0.1 port, for loopback clients only, and points
 * `process.env` at it. `options.env` must be the remembered environment (the real upstream): the local
 * proxy routes by it, never by the variables it has just rewritten, so it cannot send requests to
 * itself. Its listener and the connections to it do not keep the process alive.
 * Undefined when no proxy is configured: there is nothing to hand on, and nothing is changed.
 */
export async function startSafetyNet(options: ProxyDispatcherOptions & { env: Env }): Promise<SafetyNet | undefined> {
  const config = resolveConfig(routingOptions(options));
  const upstream = { https: config.proxyFor('https:'), http: config.proxyFor('http:') };
  if (!upstream.https && !upstream.http) {
    debug('local proxy: not started, no proxy is configured (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY or options)');
    return undefined;
  }
  // A child of a program under the net inherits JAATO_LOCAL_PROXY and variables naming the parent's
  // local proxy: that one already authenticates upstream, and a second in front of it would only add a hop.
  const parent = parentLocalProxy(options.env);
  if (parent && [upstream.https, upstream.http].every((p) => !p || p.origin === parent)) {
    debug('local proxy: not started, the proxy variables already name the local proxy of a parent process (%s)', parent);
    return undefined;
  }
  const proxy: LocalProxy = await startLocalProxy({
    ...options,
    host: '127.0.0.1',
    port: 0,
    allow: [],
    unref: true,
    log: (e) => debug('local proxy: %s %s %s %s %d %dB %dms', e.client, e.method, e.host, e.route, e.status, e.bytes, e.ms),
  });
  const changes = netChanges(process.env, proxy.url);
  apply(process.env, changes, 'after');
  debug(
    'local proxy %s started in this process for self-routing clients and child processes (upstream: https %s, http %s; bypass lists kept: JAATO_NO_PROXY and NO_PROXY hosts go direct); set %s; removed %s',
    proxy.url,
    upstream.https?.redacted ?? 'direct',
    upstream.http?.redacted ?? 'direct',
    changes.filter((c) => c.after !== undefined).map((c) => c.variable).join(', '),
    changes.filter((c) => c.after === undefined).map((c) => c.variable).join(', ') || 'nothing',
  );
  let stopped = false;
  return {
    url: proxy.url,
    changes,
    async stop() {
      if (stopped) return;
      stopped = true;
      apply(process.env, changes, 'before');
      debug('local proxy %s stopped; %s restored', proxy.url, changes.map((c) => c.variable).join(', '));
      await proxy.close();
    },
  };
}
