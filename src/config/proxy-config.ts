import { parseProxyAuthSetting, type ProxyAuthSetting } from './proxy-auth-setting.js';
import { defaultSpn, normalizeSpn } from './spn.js';
import { BypassRules } from './bypass.js';
import { firstSet, parseKerberosFlag, PROXY_VARIABLES, type Env } from './env.js';
import { EnvCache } from './env-cache.js';
import type { ExactBypassList, IgnoredEntry } from './exact-bypass.js';
import { parseTarget, type ParsedTarget } from './host.js';
import type { NoProxyList } from './no-proxy.js';
import { parseProxyUrl, type ProxyEndpoint } from './proxy-url.js';
import { parseSystemSwitch, type SystemProxySettings } from './system/settings.js';
import { SystemBypassList } from './system/system-bypass.js';

/** Explicit settings; each one given wins over the environment. */
export interface ProxyOptions {
  /** One proxy for every scheme (like ALL_PROXY, but winning over the scheme variables). */
  proxy?: string;
  /** How messages name where `proxy` came from (default `options.proxy`); the CLI says `-x/--proxy`. */
  proxySource?: string;
  httpProxy?: string;
  httpsProxy?: string;
  /** Standard suffix-matching bypass list (NO_PROXY syntax). */
  noProxy?: string | readonly string[];
  /** Exact-matching bypass list (JAATO_NO_PROXY syntax). */
  exactNoProxy?: string | readonly string[];
  /** Kerberos/SPNEGO to the proxy (JAATO_KERBEROS_PROXY). */
  kerberos?: boolean;
  /** Which scheme answers the proxy (JAATO_PROXY_AUTH): `negotiate`, `ntlm`, `basic`, or `any` (default). */
  proxyAuth?: ProxyAuthSetting;
  /**
   * Service name for the proxy (JAATO_KERBEROS_SPN), `HTTP/host` or `HTTP@host`; default the proxy's host.
   * Either spelling ends in the platform's form (see `platform`).
   */
  spn?: string;
  /**
   * Whose Kerberos conventions apply: `HTTP/host` (SSPI) on `win32`, `HTTP@host` (GSSAPI) elsewhere.
   * Default `process.platform`; set it to see what another machine would use.
   */
  platform?: NodeJS.Platform;
  /** The environment to read instead of `process.env`. */
  env?: Env;
  /**
   * The OS's proxy settings, when they are the source (see `src/system`): their proxies replace the
   * proxy variables, their bypass list is checked after `JAATO_NO_PROXY` and `NO_PROXY`.
   */
  system?: SystemProxySettings;
}

export type AuthScheme = 'negotiate' | 'basic' | 'none';

export interface DirectRoute {
  type: 'direct';
  /** The rule that decided, e.g. `JAATO_NO_PROXY entry "github.com"`. */
  rule: string;
}

export interface ProxyRoute {
  type: 'proxy';
  proxy: ProxyEndpoint;
  /** What goes on the first request to the proxy. Basic credentials, if any, stay a 407 fallback under Negotiate. */
  auth: AuthScheme;
  /** The service name in the platform's form (`HTTP/host` on Windows, `HTTP@host` elsewhere), when auth is negotiate. */
  spn?: string;
  /** JAATO_PROXY_AUTH when it pins a scheme (absent: `any`): which scheme may answer a 407. */
  proxyAuth?: ProxyAuthSetting;
  rule: string;
}

export type Route = DirectRoute | ProxyRoute;

type Slot = { endpoint: ProxyEndpoint } | { error: Error } | undefined;

const ROUTES_LIMIT = 1024;

/**
 * An immutable, compiled configuration: the proxies, both bypass lists and the Kerberos switch. Built
 * once per distinct set of values (see `resolveConfig`) so the per-request `route()` only matches.
 */
export class ProxyConfig {
  readonly exact: ExactBypassList;
  readonly noProxy: NoProxyList;
  readonly kerberos: boolean;
  /** JAATO_PROXY_AUTH (or the `proxyAuth` option): the scheme pinned, or `any`. */
  readonly proxyAuth: ProxyAuthSetting;
  /** The platform whose service-name form `spnFor` uses. */
  readonly platform: NodeJS.Platform;
  readonly warnings: readonly string[];
  readonly #proxies: Readonly<Record<'http:' | 'https:', Slot>>;
  readonly #spn: { value: string; source: string } | undefined;
  readonly #bypass: BypassRules;
  /** `scheme://authority` → its route: the configuration is immutable, so a host's route is too. */
  readonly #routes = new Map<string, Route>();
  /** Where the OS settings this configuration was compiled from were read, when they are the source. */
  readonly systemSource: string | undefined;
  /** Private: a GNOME proxy's password may be in them, and a configuration is an object a caller can print. */
  readonly #system: SystemProxySettings | undefined;

  constructor(options: ProxyOptions = {}) {
    const env = options.env ?? process.env;
    this.platform = options.platform ?? process.platform;
    const warnings: string[] = [];
    const system = options.system;
    this.#system = system;
    this.systemSource = system?.source;
    this.#proxies = system ? systemSlots(system) : {
      'http:': slot(options.httpProxy ?? options.proxy, options.httpProxy ? 'options.httpProxy' : (options.proxySource ?? 'options.proxy'), env, 'http:'),
      'https:': slot(options.httpsProxy ?? options.proxy, options.httpsProxy ? 'options.httpsProxy' : (options.proxySource ?? 'options.proxy'), env, 'https:'),
    };
    const systemBypass = system?.mode === 'manual' ? new SystemBypassList(system) : undefined;
    this.#bypass = new BypassRules(options, env, systemBypass);
    if (system) warnings.push(...system.problems.map((p) => `${system.source}: ${p}`));
    const systemSwitch = parseSystemSwitch(env.JAATO_SYSTEM_PROXY);
    if (systemSwitch.warning) warnings.push(systemSwitch.warning);
    const wpadSwitch = system ? parseSystemSwitch(env.JAATO_WPAD, 'JAATO_WPAD') : undefined;
    if (wpadSwitch?.warning) warnings.push(wpadSwitch.warning);
    for (const e of systemBypass?.ignored ?? []) warnings.push(describeIgnored(e));
    this.exact = this.#bypass.exact;
    this.noProxy = this.#bypass.noProxy;
    if (options.kerberos !== undefined) {
      this.kerberos = options.kerberos;
    } else {
      const flag = parseKerberosFlag(env.JAATO_KERBEROS_PROXY);
      // The OS's proxy gets Negotiate when unset, as the browsers that follow the same settings do: a
      // laptop with no variables needs none for Kerberos either. JAATO_KERBEROS_PROXY=false still turns it off.
      this.kerberos = flag.enabled || (system !== undefined && (env.JAATO_KERBEROS_PROXY ?? '').trim() === '');
      if (flag.warning) warnings.push(flag.warning);
    }
    this.proxyAuth = parseProxyAuthSetting(env, options.proxyAuth);
    const spnValue = options.spn ?? env.JAATO_KERBEROS_SPN;
    const spnSource = options.spn !== undefined ? 'options.spn' : 'JAATO_KERBEROS_SPN';
    this.#spn = spnValue && spnValue.trim() !== '' ? { value: normalizeSpn(spnValue.trim(), spnSource, this.platform), source: spnSource } : undefined;
    for (const e of [...this.exact.ignored, ...this.noProxy.ignored]) warnings.push(describeIgnored(e));
    for (const s of Object.values(this.#proxies)) if (s && 'error' in s) warnings.push(s.error.message);
    this.warnings = [...new Set(warnings)];
  }

  /** The proxy for a target scheme; throws the typed error if its setting is malformed. */
  proxyFor(protocol: string): ProxyEndpoint | undefined {
    const s = this.#proxies[schemeClass(protocol) ?? 'http:'];
    if (schemeClass(protocol) === undefined || s === undefined) return undefined;
    if ('error' in s) throw s.error;
    return s.endpoint;
  }

  /**
   * A configured proxy (the proxy variables or options) at `origin` that carries Basic credentials: a
   * PAC names proxies without credentials, so one it names is given those of the same proxy set here.
   * A malformed setting is skipped: it fails the requests that would use it, not the PAC's.
   */
  credentialedProxy(origin: string): ProxyEndpoint | undefined {
    for (const s of Object.values(this.#proxies)) {
      if (s && 'endpoint' in s && s.endpoint.credentials && s.endpoint.origin === origin) return s.endpoint;
    }
    return undefined;
  }

  /** The service name used for a proxy: the override, or the proxy's host, in the platform's form. */
  spnFor(proxy: ProxyEndpoint): string {
    return this.#spn?.value ?? defaultSpn(proxy.hostname, this.platform);
  }

  get spnSource(): string | undefined {
    return this.#spn?.source;
  }

  /** The bypass rule that matches the URL, if any: JAATO_NO_PROXY first, then NO_PROXY. */
  bypassRule(url: string | URL): string | undefined {
    return this.#bypass.rule(parseTarget(url));
  }

  /** The seed's per-request decision: bypass → direct; else the scheme's proxy with Negotiate, Basic or nothing. */
  route(url: string | URL): Route {
    const target = parseTarget(url);
    let route = this.#routes.get(target.key);
    if (route === undefined) {
      route = this.#decide(target); // a malformed proxy setting throws here, every time: never cached
      if (this.#routes.size >= ROUTES_LIMIT) this.#routes.clear();
      this.#routes.set(target.key, route);
    }
    return route;
  }

  #decide(target: ParsedTarget): Route {
    const { protocol } = target;
    const bypass = this.#bypass.rule(target);
    if (bypass !== undefined) return { type: 'direct', rule: bypass };
    if (schemeClass(protocol) === undefined) return { type: 'direct', rule: `${protocol} URLs are never proxied` };
    const proxy = this.proxyFor(protocol);
    if (!proxy) return { type: 'direct', rule: this.#system ? `${this.#system.source} sets no proxy for ${protocol} URLs (mode ${this.#system.mode})` : `no proxy variable is set for ${protocol} URLs` };
    return this.proxyRoute(proxy, proxy.source);
  }

  /**
   * The route through `proxy`, whatever named it (a variable, the OS's settings, a PAC answer): what goes
   * up front (a Negotiate token, Basic, or nothing) and the scheme JAATO_PROXY_AUTH pins.
   */
  proxyRoute(proxy: ProxyEndpoint, rule: string): ProxyRoute {
    // Up front only what JAATO_PROXY_AUTH allows: pinned to NTLM, nothing goes before the proxy's 407.
    const allows = (scheme: ProxyAuthSetting): boolean => this.proxyAuth === 'any' || this.proxyAuth === scheme;
    const pinned = this.proxyAuth !== 'any' ? { proxyAuth: this.proxyAuth } : undefined;
    if (this.kerberos && allows('negotiate')) return { type: 'proxy', proxy, auth: 'negotiate', spn: this.spnFor(proxy), ...pinned, rule };
    // A Windows account (DOMAIN\\user) is NTLM's: its password waits for the proxy's offer rather than
    // going up front in Basic, in clear, to a proxy that may well take NTLM. Pinned to Basic, it goes.
    const upFront = proxy.credentials && allows('basic') && (this.proxyAuth === 'basic' || !windowsAccount(proxy.credentials.username));
    return { type: 'proxy', proxy, auth: upFront ? 'basic' : 'none', ...pinned, rule };
  }
}

/** A user name in NTLM's `DOMAIN\\user` form. */
function windowsAccount(username: string): boolean {
  return username.includes('\\');
}

/** The proxy-variable class of a scheme: ws: goes as http:, wss: as https:; other schemes are never proxied. */
export function schemeClass(protocol: string): 'http:' | 'https:' | undefined {
  if (protocol === 'http:' || protocol === 'ws:') return 'http:';
  if (protocol === 'https:' || protocol === 'wss:') return 'https:';
  return undefined;
}

function slot(explicit: string | undefined, explicitSource: string, env: Env, scheme: 'http:' | 'https:'): Slot {
  const found = explicit !== undefined ? { name: explicitSource, value: explicit } : firstSet(env, PROXY_VARIABLES[scheme]);
  if (!found) return undefined;
  try {
    return { endpoint: parseProxyUrl(found.value, found.name) };
  } catch (error) {
    return { error: error as Error };
  }
}

/** The OS's proxies (manual mode only: a PAC or WPAD decides otherwise); each named by where it was read. */
function systemSlots(system: SystemProxySettings): Record<'http:' | 'https:', Slot> {
  const one = (value: string | undefined): Slot => {
    if (system.mode !== 'manual' || value === undefined || value.trim() === '') return undefined;
    try {
      return { endpoint: parseProxyUrl(value.trim(), system.source) };
    } catch (error) {
      return { error: error as Error };
    }
  };
  return { 'http:': one(system.httpProxy), 'https:': one(system.httpsProxy) };
}

function describeIgnored(e: IgnoredEntry): string {
  return `${e.variable}: ignored entry "${e.entry}": ${e.reason}`;
}

/** Configurations compiled from the environment alone, shared by every object holding the same values. */
const envConfigs = new EnvCache<Env, ProxyConfig>({ shared: true });
/** Configurations compiled from explicit options (and the environment for what they leave out), per options object. */
const optionConfigs = new EnvCache<ProxyOptions, ProxyConfig>({ shared: false });

/**
 * The compiled configuration for these options and the environment as it is *now*. It is compiled again
 * only when a variable it read has changed value, so a changed environment is picked up on the next
 * request without a restart, and an unchanged one costs one compare per variable read.
 */
export function resolveConfig(options?: ProxyOptions): ProxyConfig {
  const env = options?.env ?? process.env;
  if (options === undefined || onlyEnv(options)) return envConfigs.get(env, env, (view) => new ProxyConfig({ env: view }));
  return optionConfigs.get(options, env, (view) => new ProxyConfig({ ...options, env: view }));
}

/** Only the bypass lists of the environment (what `shouldBypassProxy` needs): fewer variables to check. */
const envBypass = new EnvCache<Env, BypassRules>({ shared: true });

export function resolveBypass(env: Env): BypassRules {
  return envBypass.get(env, env, (view) => new BypassRules({}, view));
}

/** Per options object: whether it sets nothing but `env`. Options are not mutated once given (they key the caches). */
const envOnly = new WeakMap<ProxyOptions, boolean>();

function onlyEnv(options: ProxyOptions): boolean {
  let only = envOnly.get(options);
  if (only === undefined) {
    // A for-in over an object that had keys deleted (routingOptions does) costs microseconds: once per object.
    only = Object.entries(options).every(([k, v]) => k === 'env' || v === undefined);
    envOnly.set(options, only);
  }
  return only;
}
