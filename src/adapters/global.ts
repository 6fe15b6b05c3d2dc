import http from 'node:http';
import https from 'node:https';
import { setGlobalDispatcher } from 'undici';
import { createAgents, type ProxyAgents } from './node/agents.js';
import { ProxyDispatcher, type ProxyDispatcherOptions } from './undici/public-dispatcher.js';

export interface Installation {
  /** The dispatcher now behind the global `fetch`. */
  dispatcher: ProxyDispatcher;
  /** The agents now behind `http.globalAgent` / `https.globalAgent`. */
  agents: ProxyAgents;
}

/**
 * Where undici keeps the global dispatcher: `.1` is read by Node 20-24's fetch (undici 6/7) and npm
 * undici 7, `.2` by Node 26's (undici 8), which keeps a legacy wrapper of its own under `.1`. Both are
 * saved and put back as they were, so uninstall() restores exactly what each fetch had.
 */
const DISPATCHER_SYMBOLS = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')] as const;

interface Saved {
  dispatchers: unknown[];
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
}

let state: { saved: Saved; current: Installation } | undefined;

/**
 * Routes the whole process through jaato-proxy: the global `fetch` (and undici) dispatcher, and
 * `http.globalAgent` / `https.globalAgent`, which `http.request`/`https.request` use when a caller
 * passes no agent. Unmodified programs and SDKs follow. Idempotent: a second call returns the
 * installation in place. `uninstall()` puts back exactly what was there.
 */
export function install(options: ProxyDispatcherOptions = {}): Installation {
  if (state) return state.current;
  const globals = globalThis as unknown as Record<symbol, unknown>;
  const saved: Saved = { dispatchers: DISPATCHER_SYMBOLS.map((s) => globals[s]), httpAgent: http.globalAgent, httpsAgent: https.globalAgent };
  const current: Installation = { dispatcher: new ProxyDispatcher(options), agents: createAgents(options) };
  setGlobalDispatcher(current.dispatcher);
  http.globalAgent = current.agents.http;
  https.globalAgent = current.agents.https;
  state = { saved, current };
  return current;
}

/** Restores the global dispatcher and agents that were there before `install()`, and closes ours. */
export async function uninstall(): Promise<void> {
  if (!state) return;
  const { saved, current } = state;
  state = undefined;
  const globals = globalThis as unknown as Record<symbol, unknown>;
  // undici defines these non-configurable but writable, so plain assignment puts the old ones back.
  DISPATCHER_SYMBOLS.forEach((s, i) => (globals[s] = saved.dispatchers[i]));
  http.globalAgent = saved.httpAgent;
  https.globalAgent = saved.httpsAgent;
  current.agents.http.destroy();
  current.agents.https.destroy();
  await current.dispatcher.close();
}

/** The installation in place, if any. */
export function installed(): Installation | undefined {
  return state?.current;
}
