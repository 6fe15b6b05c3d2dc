import http, { type Agent as HttpAgent, type RequestOptions } from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { debug } from '../../debug.js';
import { routingOptions } from '../../transport/options.js';
import { resolveRouting } from '../../routing/routing.js';
import { ProxyHttpAgent, ProxyHttpsAgent, type ProxyAgentOptions, type ProxyAgents } from './agents.js';
import { originOf, type ConnectOptions } from './route-target.js';
import { agentProxy, sameProxy } from './same-proxy.js';

type RequestFunction = typeof http.request;

/** An agent of Node's own classes, exactly (not a subclass: a proxy agent or a pool a client brings). */
function plain(agent: unknown): agent is HttpAgent {
  return typeof agent === 'object' && agent !== null && (agent.constructor === http.Agent || agent.constructor === https.Agent);
}
type Args = Parameters<RequestFunction>;

/** The four public functions replaced, as they were. */
interface Saved {
  httpRequest: typeof http.request;
  httpGet: typeof http.get;
  httpsRequest: typeof https.request;
  httpsGet: typeof https.get;
}

/**
 * The global install's wrapper of `http.request`, `http.get`, `https.request` and `https.get` (the
 * public functions every node:http client calls; VS Code's proxy support wraps the same four). Replacing
 * `http.globalAgent` reaches only requests that name no agent; these reach the rest:
 * - a request on an agent of Node's own classes (`new https.Agent(...)`, as the AWS SDK v3 and many
 *   libraries build, or `agent: false`) goes through a proxy agent made once per such agent from its
 *   options (keep-alive, limits, TLS trust), so the route is the configuration's;
 * - a request that dials its own connection (`createConnection` without an agent, as `ws` does) goes
 *   through the installation's agents.
 * - a request on a client's own proxy agent (https-proxy-agent, http-proxy-agent: Azure's pipeline and
 *   gaxios build one from HTTPS_PROXY) whose public `proxy` URL is the very proxy the configuration
 *   chooses for the request goes through the installation's agents: same proxy, but with our Negotiate
 *   auth (such an agent cannot answer a 407). See sameProxy.
 * Left alone: agents of any other class (a proxy agent to another proxy, one with credentials of its
 * own, ours), any agent while a PAC decides (its answer is not known when the request is made),
 * `socketPath` requests, and a `createConnection` on a request that names an agent. The caller's options object is copied,
 * never changed. `restore()` puts the four functions back exactly.
 */
export class RequestFunctions {
  readonly #saved: Saved;
  readonly #agents: ProxyAgents;
  readonly #options: ProxyAgentOptions;
  /** What the configuration is compiled from (the environment is read per request). */
  readonly #routing: ReturnType<typeof routingOptions>;
  readonly #companions = new WeakMap<object, HttpAgent>();
  readonly #made = new Set<WeakRef<HttpAgent>>();

  constructor(agents: ProxyAgents, options: ProxyAgentOptions) {
    this.#agents = agents;
    this.#options = options;
    this.#routing = routingOptions(options);
    this.#saved = { httpRequest: http.request, httpGet: http.get, httpsRequest: https.request, httpsGet: https.get };
    const { httpRequest, httpGet, httpsRequest, httpsGet } = this.#saved;
    http.request = ((...args: Args) => httpRequest(...this.#routed(args, false))) as typeof http.request;
    http.get = ((...args: Args) => httpGet(...this.#routed(args, false))) as typeof http.get;
    https.request = ((...args: Args) => httpsRequest(...this.#routed(args, true))) as typeof https.request;
    https.get = ((...args: Args) => httpsGet(...this.#routed(args, true))) as typeof https.get;
    // `import { request } from 'node:https'` reads the ES module's exports: bring them in line.
    syncBuiltinESMExports();
  }

  /** Puts the four functions back as they were, and closes the agents made for callers' agents. */
  restore(): void {
    http.request = this.#saved.httpRequest;
    http.get = this.#saved.httpGet;
    https.request = this.#saved.httpsRequest;
    https.get = this.#saved.httpsGet;
    syncBuiltinESMExports();
    for (const ref of this.#made) ref.deref()?.destroy();
    this.#made.clear();
  }

  /** The arguments with the options changed where the request must take a proxy agent; else the same array. */
  #routed(args: Args, secure: boolean): Args {
    const first = args[0] as unknown;
    const urlForm = typeof first === 'string' || first instanceof URL;
    const index = urlForm ? 1 : 0;
    const given = args[index] as unknown;
    const options = typeof given === 'object' && given !== null ? (given as RequestOptions) : undefined;
    if (options?.socketPath !== undefined) return args;
    const agent = this.#agentFor(options, secure, urlForm ? (first as string | URL) : undefined);
    if (agent === undefined) return args;
    const changed: RequestOptions = { ...options, agent };
    if (options?.createConnection !== undefined && options.agent === undefined) changed.createConnection = undefined;
    const out = [...args] as unknown[];
    if (options) out[index] = changed;
    else out.splice(index, 0, changed); // url form without options: (url, callback)
    // eslint-disable-next-line no-restricted-syntax -- the caller's own arguments, one option object replaced or inserted: still one of http.request's overloads, which a tuple type cannot follow through splice
    return out as unknown as Args;
  }

  #agentFor(options: RequestOptions | undefined, secure: boolean, url: string | URL | undefined): HttpAgent | undefined {
    const agent = options?.agent as unknown;
    const ours = secure ? this.#agents.https : this.#agents.http;
    if (agent === undefined) {
      if (typeof options?.createConnection === 'function') return ours;
      // A program that set a plain agent of its own as http(s).globalAgent after the install: that one.
      const global = secure ? https.globalAgent : http.globalAgent;
      return global === ours || !plain(global) ? undefined : this.#companion(global, secure);
    }
    if (agent === false) return ours;
    if (plain(agent)) return this.#companion(agent as object, secure);
    return typeof agent === 'object' && agent !== null && this.#repeatsOurs(agent, secure, url, options) ? ours : undefined;
  }

  /** Whether `agent` is a proxy agent to the very proxy the configuration chooses for this request. */
  #repeatsOurs(agent: object, secure: boolean, url: string | URL | undefined, options: RequestOptions | undefined): boolean {
    const proxy = agentProxy(agent);
    if (proxy === undefined) return false;
    try {
      const { config, pac } = resolveRouting(this, this.#routing, this.#options.pac);
      if (pac !== undefined) return false;
      const route = config.route(targetOf(secure, url, options));
      if (!sameProxy(proxy, route)) return false;
      debug('global install: a request on a proxy agent of its own to %s, the proxy the configuration chooses for it, takes our route', route.type === 'proxy' ? route.proxy.redacted : '');
      return true;
    } catch {
      return false; // a bad variable or target: the request goes as the caller made it, and fails or not there
    }
  }

  #companion(agent: object, secure: boolean): HttpAgent {
    let companion = this.#companions.get(agent);
    if (!companion) {
      // Node keeps the options an Agent was built with on `agent.options` (read, never written).
      const { proxyEnv: _proxyEnv, ...own } = ((agent as { options?: Record<string, unknown> }).options ?? {}) as Record<string, unknown>;
      const options = { ...this.#options, ...own } as ProxyAgentOptions;
      companion = agent.constructor === https.Agent ? new ProxyHttpsAgent(options) : new ProxyHttpAgent(options);
      this.#companions.set(agent, companion);
      // The AWS SDK makes an agent per upload with Expect: drop the references to collected ones.
      if (this.#made.size >= 64) for (const ref of this.#made) if (ref.deref() === undefined) this.#made.delete(ref);
      this.#made.add(new WeakRef(companion));
      debug('global install: a request on an agent of its own (%s) goes through a proxy agent made from its options', secure ? 'https.Agent' : 'http.Agent');
    }
    return companion;
  }
}

/** The origin a request is for, as Node reads it: the URL's parts, overridden by the options' (`hostname` before `host`). */
function targetOf(secure: boolean, url: string | URL | undefined, options: RequestOptions | undefined): URL {
  const parsed = url === undefined ? undefined : new URL(url);
  const o: ConnectOptions = {
    hostname: options?.hostname ?? parsed?.hostname ?? options?.host,
    port: options?.port ?? (parsed?.port || undefined),
  };
  return originOf(secure ? 'https:' : 'http:', o);
}
