import http from 'node:http';
import https from 'node:https';
import { getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { createAgents, type ProxyAgents } from './node/agents.js';
import { ProxyDispatcher, type ProxyDispatcherOptions } from './undici/public-dispatcher.js';

export interface Installation {
  /** The dispatcher now behind the global `fetch`. */
  dispatcher: ProxyDispatcher;
  /** The agents now behind `http.globalAgent` / `https.globalAgent`. */
  agents: ProxyAgents;
}

interface Saved {
  dispatcher: Dispatcher;
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
  // undici keeps the global dispatcher (which Node's built-in fetch reads too) on a global symbol, and
  // creates one when it loads, so there always is a previous one to give back.
  const saved: Saved = { dispatcher: getGlobalDispatcher(), httpAgent: http.globalAgent, httpsAgent: https.globalAgent };
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
  setGlobalDispatcher(saved.dispatcher);
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
