import http from 'node:http';
import https from 'node:https';
import { setGlobalDispatcher } from 'undici';
import { InvalidOptionError } from '../config/errors.js';
import { programAxiosCommonJs, programAxiosCopies, takeProxyOff, type AxiosDefaultsHolder } from '../adapters/axios-copies.js';
import { startSafetyNet, type SafetyNet } from './local-proxy-net.js';
import { createAgents, type ProxyAgents } from '../adapters/node/agents.js';
import { RequestFunctions } from '../adapters/node/request-functions.js';
import { ProxyDispatcher, type ProxyDispatcherOptions } from '../adapters/undici/public-dispatcher.js';

export interface InstallOptions extends ProxyDispatcherOptions {
  /**
   * Also start the local authenticating proxy inside this process and point `HTTP_PROXY`/`HTTPS_PROXY`
   * (both cases) at it, for clients that read those variables and route themselves (Azure core, axios)
   * and for child processes. `install()` then returns a promise (the proxy must be listening before
   * the variables can name it). `JAATO_LOCAL_PROXY=true` does this for `--import jaato-proxy/register`.
   */
  localProxy?: boolean;
}

export interface Installation {
  /** The dispatcher now behind the global `fetch`. */
  dispatcher: ProxyDispatcher;
  /** The agents now behind `http.globalAgent` / `https.globalAgent`. */
  agents: ProxyAgents;
  /**
   * The in-process local proxy (its URL with the credential redacted) and which variables it set or
   * removed in `process.env` (with `localProxy: true` and a proxy configured).
   */
  localProxy?: Pick<SafetyNet, 'url' | 'changes'>;
}

/**
 * Where undici keeps the global dispatcher: `.1` is read by Node 20-24's fetch (undici 6/7) and npm
 * undici 7, `.2` by Node 26's (undici 8), which keeps a legacy wrapper of its own under `.1`. Both are
 * saved and put back as they were, so uninstall() restores exactly what each fetch had.
 */
const DISPATCHER_SYMBOLS = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')] as const;
/** The global object seen through the symbol-keyed slots undici keeps there. */
const GLOBALS: Record<symbol, unknown> = globalThis;

interface Saved {
  dispatchers: unknown[];
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  /** The wrapper of http(s).request/get; restore() puts the functions back. */
  functions: RequestFunctions;
  /** How to put back each axios copy's `defaults.proxy`. */
  axios: Array<() => void>;
}

/** `withNet`: installed by install({ localProxy: true }) (`net` stays undefined when no proxy was configured). */
let state: { saved: Saved; current: Installation; withNet: boolean; net: SafetyNet | undefined } | undefined;
let starting: Promise<Installation> | undefined;

/**
 * Routes the whole process through jaato-proxy: the global `fetch` (and undici) dispatcher;
 * `http.globalAgent` / `https.globalAgent`, which `http.request`/`https.request` use when a caller
 * passes no agent; and those four functions themselves, so a request on an agent of Node's own classes
 * that a caller or library built (the AWS SDK's) or one that dials its own socket (ws) is routed too
 * (see RequestFunctions). Unmodified programs and SDKs follow. Idempotent: a second call returns the
 * installation in place. `uninstall()` puts back exactly what was there.
 */
export function install(options?: InstallOptions & { localProxy?: false }): Installation;
/**
 * With `localProxy: true`: the same, plus the in-process local proxy (see InstallOptions.localProxy);
 * resolves once it listens and the variables name it. The installation and the local proxy route by
 * the environment as it was at this call (or `options.env`), never by the variables pointed at the
 * local proxy, so nothing loops. `uninstall()` puts the variables back exactly.
 */
export function install(options: InstallOptions & { localProxy: true }): Promise<Installation>;
export function install(options: InstallOptions): Installation | Promise<Installation>;
export function install(options: InstallOptions = {}): Installation | Promise<Installation> {
  const { localProxy, ...rest } = options;
  if (!localProxy) {
    if (starting) throw new InvalidOptionError('install()', 'install({ localProxy: true }) is still starting: await it');
    return state?.current ?? replaceGlobals(rest, false);
  }
  if (state) {
    if (state.withNet) return Promise.resolve(state.current);
    return Promise.reject(new InvalidOptionError('localProxy', 'install() already ran without the local proxy: await uninstall() first'));
  }
  starting ??= installWithNet(rest).finally(() => (starting = undefined));
  return starting;
}

async function installWithNet(options: ProxyDispatcherOptions): Promise<Installation> {
  // Remembered now: the variables are about to name the local proxy.
  // Remembered now, and copied even when given: the variables are about to name the local proxy, and
  // `env: process.env` would otherwise route the installation and the local proxy to it (a loop).
  const remembered = { ...options, env: { ...(options.env ?? process.env) } };
  const net = await startSafetyNet(remembered);
  try {
    return replaceGlobals(remembered, true, net);
  } catch (error) {
    await net?.stop(); // nothing half installed: the variables back, the local proxy stopped
    throw error;
  }
}

function replaceGlobals(options: ProxyDispatcherOptions, withNet: boolean, net?: SafetyNet): Installation {
  const dispatchers = DISPATCHER_SYMBOLS.map((s) => GLOBALS[s]);
  const httpAgent = http.globalAgent;
  const httpsAgent = https.globalAgent;
  const current: Installation = { dispatcher: new ProxyDispatcher(options), agents: createAgents(options) };
  if (net) current.localProxy = { url: net.url, changes: net.changes };
  setGlobalDispatcher(current.dispatcher);
  http.globalAgent = current.agents.http;
  https.globalAgent = current.agents.https;
  const saved: Saved = { dispatchers, httpAgent, httpsAgent, functions: new RequestFunctions(current.agents, options), axios: [] };
  state = { saved, current, withNet, net };
  return current;
}

/**
 * Restores the global dispatcher and agents that were there before `install()`, and closes ours; with
 * the local proxy, restores the variables it changed (an unset one unset again) and stops it.
 */
export async function uninstall(): Promise<void> {
  await starting?.catch(() => undefined);
  if (!state) return;
  const { saved, current, net } = state;
  state = undefined;
  // The globals first: a local proxy slow to stop (a tunnel being closed) must not leave them installed.
  const stopping = net?.stop();
  // undici defines these non-configurable but writable, so plain assignment puts the old ones back.
  DISPATCHER_SYMBOLS.forEach((s, i) => (GLOBALS[s] = saved.dispatchers[i]));
  http.globalAgent = saved.httpAgent;
  https.globalAgent = saved.httpsAgent;
  saved.functions.restore();
  for (const restore of saved.axios.splice(0)) restore();
  current.agents.http.destroy();
  current.agents.https.destroy();
  await Promise.all([stopping, current.dispatcher.close()]);
}

/**
 * For `--import jaato-proxy/register`: the axios copies the program would load (its CommonJS and its ES
 * module build) get `proxy: false` in their defaults before the program runs, so axios sends through
 * the installed agents instead of reading HTTPS_PROXY itself (it cannot answer a Negotiate 407).
 * `uninstall()` puts each field back. A program that calls install() itself calls installAxios(axios).
 */
export async function adoptProgramAxios(): Promise<number> {
  return adopt(await programAxiosCopies());
}

/** As adoptProgramAxios, for `--require jaato-proxy/register`: the CommonJS copy, which is what a CommonJS program loads. */
export function adoptProgramAxiosCommonJs(): number {
  return adopt(programAxiosCommonJs());
}

function adopt(copies: AxiosDefaultsHolder[]): number {
  if (!state) return 0;
  for (const axios of copies) state.saved.axios.push(takeProxyOff(axios));
  return copies.length;
}

/** The installation in place, if any. */
export function installed(): Installation | undefined {
  return state?.current;
}
