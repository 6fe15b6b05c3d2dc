import type { Socket } from 'node:net';
import { InvalidOptionError } from '../config/errors.js';
import type { ProxyRoute } from '../config/proxy-config.js';
import { debug } from '../debug.js';
import { ProxyAuthSession, type ProxyAuthOptions } from './proxy-auth-session.js';
import { ConnectionAuthState } from './connection-auth-state.js';
import { ProxyTimeoutError, ProxyTunnelError } from './errors.js';
import { checkReply, makeLeg } from './exchange-steps.js';
import { connectionCloses, ProxyExchange } from './proxy-exchange.js';
import { dialProxy, type DialOptions } from './proxy-socket.js';
import { exchangeHead } from './head-exchange.js';
import type { ResponseHead } from './response-head.js';

/** Bytes of a 407's body read to keep its connection for NTLM's next leg; a larger one closes it. */
const MAX_HELD_BODY = 1024 * 1024;

export interface TunnelOptions extends ProxyAuthOptions, DialOptions {
  /** More fields for every CONNECT sent (e.g. a local proxy's `Via`, RFC 9110 §7.6.3). Never credentials. */
  connectHeaders?: Readonly<Record<string, string>>;
  /** Ends the tunnel's setup at once, the wait for a Kerberos token included (a request's destroy()). */
  signal?: AbortSignal;
  /**
   * When the whole tunnel setup must be over (`performance.now()` ms): the CONNECT's answer then waits
   * only what is left of it after the dial and the token, so one bound (`timeout`) covers the phase
   * however long the steps before took on a loaded machine. Without it each step has `timeout` of its own.
   */
  deadline?: number;
}

// Field syntax (RFC 9110 §5.1, §5.5): nothing a caller passes can end a line or the head.
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function extraFields(headers: TunnelOptions['connectHeaders']): string {
  let out = '';
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!FIELD_NAME.test(name) || !FIELD_VALUE.test(value)) throw new InvalidOptionError('connectHeaders', `${JSON.stringify(name)} is not a valid header field`);
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

/**
 * Opens a CONNECT tunnel through the proxy to `host:port` and returns the raw socket, ready for the
 * caller's TLS handshake with the origin (so TLS stays end to end and the proxy sees only the
 * authority). The auth rides on the CONNECT, as the exchange (proxy-exchange.ts) decides: pre-auth with
 * a fresh token, then each 407 answered (bounded) on a new connection.
 */
export async function openTunnel(route: ProxyRoute, host: string, port: number, options: TunnelOptions): Promise<Socket> {
  const { proxy } = route;
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const extra = extraFields(options.connectHeaders);
  const { signal } = options;
  const auth = new ProxyAuthSession(route, options);
  const connection = new ConnectionAuthState();
  const exchange = new ProxyExchange(route, auth, connection, `CONNECT ${authority}`, { authority });
  signal?.throwIfAborted();
  // While a token is being made the socket has no reader: an error then (the proxy died) must not
  // go unheard, so it is kept, and the CONNECT's reader, which sees the socket closed, reports it.
  const ignore = (): void => undefined;
  let socket = (await dialProxy(proxy, options)).on('error', ignore);
  connection.opened();
  const onAbort = (): void => {
    socket.destroy();
  };
  signal?.addEventListener('abort', onAbort);
  let res: ResponseHead | undefined;
  /** The last 407's connection is kept for the handshake's next leg. */
  let keep = false;
  try {
    let action = exchange.step({ type: 'start' });
    for (;;) {
      switch (action.do) {
        case 'token':
        case 'answer':
          action = exchange.step(await makeLeg(auth, action, signal));
          break;
        case 'replay-body':
          action = exchange.step({ type: 'body', replayable: true, limit: 0 }); // a CONNECT has none
          break;
        case 'send': {
          signal?.throwIfAborted();
          if (action.connection === 'new') {
            socket = (await dialProxy(proxy, options)).on('error', ignore);
            connection.opened();
          } else debug('CONNECT %s via %s (%s)', authority, proxy.redacted, action.header ? `pre-auth ${auth.sent}` : 'no pre-auth');
          // Closed before the CONNECT went out (the proxy died while the token was made): nothing was
          // sent, so it is a tunnel the proxy closed unanswered, retried as one (retry-decision.ts).
          if (socket.destroyed) throw new ProxyTunnelError(proxy, authority, 'the connection closed while the token for the CONNECT was being made');
          const request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${extra}${action.header ? `Proxy-Authorization: ${action.header}\r\n` : ''}\r\n`;
          const wait = options.deadline === undefined ? options.timeout : Math.max(1, Math.min(options.timeout, options.deadline - performance.now()));
          const ntlm = auth.sent === 'ntlm';
          res = await answer(socket, request, route, authority, wait, options.timeout, ntlm);
          debug('CONNECT %s via %s: %d %s', authority, proxy.redacted, res.statusCode, res.statusText);
          // In an NTLM handshake the connection goes on after a 407 whose body has a length to read.
          keep = ntlm && res.statusCode === 407 && res.framing.kind === 'length' && res.framing.length <= MAX_HELD_BODY && !connectionCloses(res.headers);
          action = exchange.step({ type: 'head', statusCode: res.statusCode, statusText: res.statusText, headers: res.headers, closes: !keep, bodySent: true });
          break;
        }
        case 'hold': {
          // The 407's body is not read: framing it would trust the proxy's Content-Length/chunking, and a
          // framing mistake hands body bytes to the next attempt as its answer. The next attempt goes on a
          // new connection (as https-proxy-agent and undici do); Negotiate makes a fresh token for it anyway.
          // Only NTLM's CHALLENGE must be answered on its own connection: then exactly its announced body
          // is read, and anything past it (the proxy ahead of us) closes the connection.
          const framing = (res as ResponseHead).framing;
          if (!keep || !(await drainBody(socket, framing.kind === 'length' ? framing.length : 0, options.timeout))) {
            socket.destroy();
            connection.closed();
          }
          action = exchange.step({ type: 'end' });
          break;
        }
        case 'verify': {
          const head = res as ResponseHead;
          action = exchange.step(await checkReply(auth, head.headers, `its ${head.statusCode} answer to CONNECT ${authority}`, false));
          break;
        }
        case 'deliver':
          socket.off('error', ignore);
          return socket;
        case 'fail':
          throw action.error;
        default:
          throw new Error(`the CONNECT exchange asked for ${action.do}`);
      }
    }
  } catch (error) {
    socket.destroy();
    throw signal?.aborted ? signal.reason : error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    auth.dispose();
  }
}

/** The CONNECT sent and its answer waited for `wait` ms; the error names `timeout`, the bound in force. */
function answer(socket: Socket, request: string, route: ProxyRoute, authority: string, wait: number, timeout: number, keepBody: boolean): Promise<ResponseHead> {
  return exchangeHead(socket, request, {
    method: 'CONNECT',
    wait,
    keepBody,
    timedOut: () => new ProxyTimeoutError(route.proxy, `waiting for the answer to CONNECT ${authority} from`, timeout, 'connect-response'),
    failed: (error) => new ProxyTunnelError(route.proxy, authority, error.message),
  });
}

/** Reads and drops exactly `length` bytes (a 407's body) within `wait` ms; false when the connection cannot go on. */
function drainBody(socket: Socket, length: number, wait: number): Promise<boolean> {
  if (length === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    let left = length;
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      resolve(ok);
    };
    const onData = (chunk: Buffer): void => {
      if (chunk.length > left) return done(false);
      left -= chunk.length;
      if (left === 0) done(true);
    };
    const onClose = (): void => done(false);
    const timer = setTimeout(() => done(false), wait);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}
