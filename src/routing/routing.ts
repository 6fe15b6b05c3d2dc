import type { Env } from '../config/env.js';
import { EnvCache } from '../config/env-cache.js';
import { ProxyConfig, type ProxyOptions } from '../config/proxy-config.js';
import { systemPac, type SystemProxySettings } from '../config/system/settings.js';
import { pacSetting, type PacSetting } from '../pac/pac-route.js';
import { systemKeyFor, systemSettingsSource, type SystemKey } from '../system/system-source.js';

/** What a client (a dispatcher, a node agent, serve) routes by: the compiled configuration and the PAC setting, from one set of reads. */
export interface Routing {
  config: ProxyConfig;
  pac: PacSetting | undefined;
}

/** A compilation from the variables; with the OS's settings as the source, the snapshot it used and its key. */
interface Compiled {
  routing: Routing;
  system?: { key: SystemKey; settings: SystemProxySettings };
}

/** Per client: compiled again only when a variable either part read (JAATO_PAC_URL too) has changed. */
const routings = new EnvCache<object, Compiled>({ shared: false });
/** Per client, with the OS's settings as the source: the routing for the latest snapshot, once it differs from the compiled one. */
const latest = new WeakMap<object, { compiled: Compiled; settings: SystemProxySettings; routing: Routing }>();

/**
 * The routing for `owner`'s options and the environment as it is now. `JAATO_PAC_URL` is tracked with
 * the configuration's variables, so a request checks each once and builds nothing while they hold.
 * With no proxy option or variable set, the OS's settings are the source (`src/system`): their snapshot
 * is checked too, and a changed one (read again in the background) compiles the routing again.
 */
export function resolveRouting(owner: object, options: ProxyOptions | undefined, pac: string | undefined): Routing {
  const env = options?.env ?? process.env;
  const compiled = routings.get(owner, env, (view) => compileRouting(view, options, pac));
  if (!compiled.system) return compiled.routing;
  const settings = systemSettingsSource.current(compiled.system.key);
  if (settings === compiled.system.settings) return compiled.routing;
  const last = latest.get(owner);
  if (last && last.compiled === compiled && last.settings === settings) return last.routing;
  const routing = withSystem(env, options, settings);
  latest.set(owner, { compiled, settings, routing });
  return routing;
}

/** The routing as `resolveRouting` makes it, without a cache: for explain, doctor and the safety net's decision. */
export function routingFor(env: Env, options: ProxyOptions | undefined, pac: string | undefined): Routing {
  return compileRouting(env, options, pac).routing;
}

function compileRouting(env: Env, options: ProxyOptions | undefined, pac: string | undefined): Compiled {
  const key = systemKeyFor(env, { ...options, ...(pac !== undefined && { pac }) });
  if (!key) return { routing: { pac: pacSetting(pac, env), config: new ProxyConfig({ ...options, env }) } };
  const settings = systemSettingsSource.current(key);
  return { routing: withSystem(env, options, settings), system: { key, settings } };
}

function withSystem(env: Env, options: ProxyOptions | undefined, settings: SystemProxySettings): Routing {
  return { pac: systemPac(settings), config: new ProxyConfig({ ...options, env, system: settings }) };
}
