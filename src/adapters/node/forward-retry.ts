import type { ClientRequest, IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import type { Agent } from 'node:http';
import type { ProxyRoute } from '../../config/proxy-config.js';
import { ConnectionAuth, type ProxyAuthOptions } from '../../transport/connection-auth.js';

/** Bodies up to this size are kept so a 407 can be answered by sending the request again. */
const MAX_REPLAY_BYTES = 1024 * 1024;

/**
 * The 407 handler for `node:http` requests forwarded to the proxy: the seed's urllib handler, in Node.
 * The request's body is recorded as it is written (up to 1 MiB); when the proxy answers 407, that
 * response never reaches the caller: the request is sent again with a fresh token (bounded by the
 * 407 state machine) and the caller gets the answer to that one.
 */
/** Marks the options of a request this module sends again, so the agent does not wrap it twice. */
export const RETRY = Symbol('jaato-proxy.407-retry');

export function handleForward407(req: ClientRequest, agent: Agent, route: ProxyRoute, auth: ProxyAuthOptions, target: URL): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let replayable = true;
  const record = (chunk: unknown, encoding?: unknown): void => {
    if (!replayable || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > MAX_REPLAY_BYTES) {
      replayable = false;
      chunks.length = 0;
    } else chunks.push(buf);
  };
  const write = req.write.bind(req);
  const end = req.end.bind(req);
  req.write = ((chunk: unknown, encoding?: unknown, cb?: unknown) => {
    record(chunk, encoding);
    return (write as (...a: unknown[]) => boolean)(chunk, encoding, cb);
  }) as typeof req.write;
  req.end = ((chunk?: unknown, encoding?: unknown, cb?: unknown) => {
    record(chunk, encoding);
    return (end as (...a: unknown[]) => ClientRequest)(chunk, encoding, cb);
  }) as typeof req.end;

  // Node marks a request destroyed once its response has ended, the swallowed 407 included, so only a
  // destroy() call (the caller's abort, or an AbortSignal) says the caller gave up.
  let abandoned = false;
  let current: ClientRequest = req;
  const destroy = req.destroy.bind(req);
  req.destroy = ((error?: Error) => {
    abandoned = true;
    if (current !== req) current.destroy(error);
    return destroy(error);
  }) as typeof req.destroy;

  const connectionAuth = new ConnectionAuth(route, auth);
  const emit = req.emit.bind(req) as (event: string | symbol, ...args: unknown[]) => boolean;
  const intercept = (event: string | symbol, ...args: unknown[]): boolean => {
    const res = args[0] as IncomingMessage;
    if (event !== 'response' || res.statusCode !== 407 || !replayable) return emit(event, ...args);
    res.resume(); // drain the 407's body so its connection can carry the next attempt
    connectionAuth.next(toList(res.headers['proxy-authenticate'])).then(
      (header) => {
        if (abandoned) return;
        const headers = { ...req.getHeaders(), 'proxy-authorization': header };
        const options = { agent, method: req.method, host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, headers, setHost: false, [RETRY]: true };
        current = httpRequest(options);
        (current as unknown as { emit: typeof intercept }).emit = wrapEmit(current, intercept);
        current.on('error', (e) => emit('error', e));
        current.end(Buffer.concat(chunks));
      },
      (error: unknown) => emit('error', error),
    );
    return true;
  };
  req.emit = intercept as typeof req.emit;
}

/** A retry's own events: its response goes through the same 407 check; the rest is not the caller's. */
function wrapEmit(retry: ClientRequest, intercept: (event: string | symbol, ...args: unknown[]) => boolean): ClientRequest['emit'] {
  const own = retry.emit.bind(retry) as (event: string | symbol, ...args: unknown[]) => boolean;
  return ((event: string | symbol, ...args: unknown[]) => (event === 'response' ? intercept(event, ...args) : own(event, ...args))) as ClientRequest['emit'];
}

function toList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
