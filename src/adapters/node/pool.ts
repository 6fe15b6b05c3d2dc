import type { ClientRequest } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Route } from '../../config/proxy-config.js';
import { debug } from '../../debug.js';
import type { PacSetting } from '../../pac/pac-route.js';
import { redactUrl } from '../../redact.js';
import { routeKey } from '../route-key.js';

/**
 * How the node agents keep Node's connection pool honest when connections go through a proxy.
 *
 * Node's `http.Agent` pools sockets by `getName(options)` (host:port:…) and counts a socket against
 * `maxSockets`/`maxTotalSockets` only once `createConnection` has produced it. Proxy connections are
 * made asynchronously (dial, CONNECT, a Kerberos token), so two things go wrong without help: the
 * limits do not hold while connections are being set up, and the pool key knows nothing of the route,
 * so a kept-alive socket of one route (direct, or one proxy and credential) can be handed to a request
 * of another. The agents therefore put their routing decision into the options Node passes around
 * (`ROUTE`), make it part of the pool key (`poolName`), and count a connection from the moment they
 * start opening it (`openPooled`).
 */

/** Where `addRequest` leaves its routing decision, in the options Node hands to getName/createSocket. */
export const ROUTE = Symbol('jaato-proxy.route');
/** A connection opened through the proxy, handed through Node's `createSocket` to `createConnection`. */
export const PREPARED = Symbol('jaato-proxy.prepared');

/** Set by the http agent for a request through a CONNECT tunnel (an Upgrade) rather than forwarded. */
export const TUNNEL = Symbol('jaato-proxy.tunnel');

/**
 * Set by `addRequest` instead of `ROUTE` when a PAC chooses the route: that takes asking the PAC, so
 * the route is known only once the connection is being opened.
 */
export const PAC = Symbol('jaato-proxy.pac');

/** The options our agents see from Node, with the fields they add. */
export interface PoolOptions {
  [ROUTE]?: Route;
  [PAC]?: PacSetting;
  [PREPARED]?: Duplex;
  [TUNNEL]?: boolean;
}

export type SocketCallback = (error: Error | null, socket?: Duplex) => void;

/**
 * The parts of Node's Agent this module relies on. `createSocket`, `removeSocket` and
 * `totalSocketCount` are not in @types/node but are stable (agent-base and agentkeepalive use them);
 * `sockets` and `requests` are documented, read-only in the types only.
 */
interface AgentInternals {
  sockets: Record<string, Duplex[] | undefined>;
  requests: Record<string, ClientRequest[] | undefined>;
  totalSocketCount: number;
  getName(options: object): string;
  removeSocket(socket: Duplex, options: object): void;
}

export type CreateSocket = (this: unknown, req: ClientRequest, options: object, cb: SocketCallback) => void;

/**
 * Node's pool name with the route appended: a pooled socket only ever carries requests of its own
 * route. With a PAC, the PAC's location stands for the route: its answers are per host, and the host is
 * in Node's part of the name.
 */
export function poolName(base: string, options: PoolOptions | undefined): string {
  const route = options?.[ROUTE];
  const pac = options?.[PAC];
  const tunnel = options?.[TUNNEL] ? '|tunnel' : '';
  if (route !== undefined) return `${base}|${routeKey(route)}${tunnel}`;
  return pac === undefined ? base : `${base}|pac ${redactUrl(pac.url)}${tunnel}`;
}

/**
 * Fails a request the way Node fails one whose socket could not be created: `'error'` then `'close'`,
 * on the next tick, so a listener attached after `http.get()` returns hears it, and nothing is thrown
 * out of the `ClientRequest` constructor.
 */
export function failRequest(req: ClientRequest, error: Error): void {
  (req as unknown as { onSocket(socket: Duplex | undefined, error: Error): void }).onSocket(undefined, error);
}

/**
 * Node's `createSocket` for a connection that takes time to open. A placeholder socket is counted in
 * `agent.sockets[name]` and `totalSocketCount` from the start (the agent-base technique), so requests
 * made meanwhile queue instead of opening connections of their own; once `open()` settles the
 * placeholder makes way for the real socket, which Node's `createSocket` then registers as usual.
 *
 * When `open()` fails, one request gets the error (the one that asked for the connection or, when Node
 * asked on behalf of its queue after a pooled socket closed, whichever request is first in that queue
 * by then) and the freed slot goes to the next request waiting. Node's own queue code leaves a request
 * it fails this way in the queue, where every freed slot would dial for it again; taking it out makes
 * each failure consume exactly one waiting request. (agent-base does neither: there the queue waits.)
 */
export function openPooled(
  agent: object,
  baseCreateSocket: CreateSocket,
  req: ClientRequest,
  options: PoolOptions & object,
  cb: SocketCallback,
  open: (signal: AbortSignal) => Promise<Duplex>,
): void {
  const pool = agent as AgentInternals;
  const name = pool.getName(options);
  const forQueue = pool.requests[name]?.includes(req) === true;
  const placeholder = new Socket({ writable: false });
  (pool.sockets[name] ??= []).push(placeholder);
  pool.totalSocketCount++;
  const abandoned = whenDestroyed(req, forQueue);
  // A throw from open() becomes its rejection: nothing may escape into http.get().
  new Promise<Duplex>((resolve) => resolve(open(abandoned.signal))).finally(abandoned.stop).then(
    (socket) => {
      drop(pool, name, placeholder);
      baseCreateSocket.call(agent, req, { ...options, [PREPARED]: socket }, cb);
      // agent.destroy() ran while this connection was being opened: it destroyed the placeholder.
      if (placeholder.destroyed) socket.destroy();
    },
    (error: Error) => {
      const failed = forQueue ? shift(pool, name) : req;
      drop(pool, name, placeholder);
      // As for a closed socket: Node starts a connection for the next request waiting for the slot. (It
      // finds no placeholder to remove; which method decrements the count differs between Node versions.)
      pool.removeSocket(placeholder, options);
      if (!forQueue) cb(error);
      else if (failed) failRequest(failed, error);
      else debug('a connection for %s failed with no request left waiting for it: %s', name, error.message);
    },
  );
}

/**
 * An abort signal for a connection being opened for `req`, fired once the request is destroyed: the
 * wait for a Kerberos token then ends at once, not at the token's bound. node:http emits nothing on
 * `req.destroy()` before the request has a socket (it ends the request only once one arrives), so the
 * request's public `destroyed` flag is looked at, every 25 ms while the connection is being opened.
 * A connection opened for the agent's queue (`forQueue`) belongs to no one request and is not aborted.
 */
function whenDestroyed(req: ClientRequest, forQueue: boolean): { signal: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  if (forQueue) return { signal: controller.signal, stop: () => undefined };
  const timer = setInterval(() => {
    if (!req.destroyed) return;
    clearInterval(timer);
    controller.abort(new Error('the request was destroyed while its proxy connection was being opened'));
  }, 25);
  timer.unref();
  return { signal: controller.signal, stop: () => clearInterval(timer) };
}

function shift(pool: AgentInternals, name: string): ClientRequest | undefined {
  const queue = pool.requests[name];
  const first = queue?.shift();
  if (queue?.length === 0) delete pool.requests[name];
  return first;
}

function drop(pool: AgentInternals, name: string, placeholder: Duplex): void {
  const list = pool.sockets[name];
  const i = list?.indexOf(placeholder) ?? -1;
  if (list === undefined || i === -1) return;
  list.splice(i, 1);
  if (list.length === 0) delete pool.sockets[name];
  pool.totalSocketCount--;
}
