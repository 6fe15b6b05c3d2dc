import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { ProxyRoute } from '../../config/proxy-config.js';
import { ProxyAuthSession } from '../../transport/proxy-auth-session.js';
import { forwardFailure } from '../../transport/errors.js';
import { openForwardSocket, type ForwardOptions } from '../../transport/forward.js';

/** Bodies up to this size are kept so a 407 can be answered by sending the request again. */
const MAX_REPLAY_BYTES = 1024 * 1024;

/**
 * The 407 handler for `node:http` requests forwarded to the proxy: the seed's urllib handler, in Node.
 * The request's body is recorded as it is written (up to 1 MiB). When the proxy answers 407, the caller
 * never sees it: the request is sent again with a fresh token (bounded by the 407 state machine), and
 * the caller's request emits the answer to that one.
 *
 * The 407 is left unread until then, because Node marks a request finished once its response has
 * ended, and clients such as axios drop a response that arrives on a finished request. The retry
 * therefore goes on a fresh proxy connection of its own, which also keeps it from queueing behind the
 * held one when the agent limits its sockets.
 */
export function handleForward407(req: ClientRequest, route: ProxyRoute, options: ForwardOptions, target: URL): void {
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

  let held: IncomingMessage | undefined; // the caller's unread 407
  let current: ClientRequest | undefined; // the retry in flight
  let abandoned = false;
  const release = (): void => {
    held?.destroy();
    held = undefined;
  };
  const destroy = req.destroy.bind(req);
  req.destroy = ((error?: Error) => {
    abandoned = true;
    current?.destroy(error);
    release();
    return destroy(error);
  }) as typeof req.destroy;

  const auth = new ProxyAuthSession(route, options);
  const what = `${req.method} ${target.origin}`; // never the path or query: they can hold secrets
  const emit = req.emit.bind(req) as (event: string | symbol, ...args: unknown[]) => boolean;
  const retry = (challenge: IncomingMessage): void => {
    auth.answer407(toList(challenge.headers['proxy-authenticate'])).then(
      (header) => {
        if (abandoned) return;
        current = httpRequest({
          method: req.method,
          path: target.href,
          headers: { ...req.getHeaders(), host: target.host, 'proxy-authorization': header },
          setHost: false,
          // No agent (undefined, not false: false means a fresh default Agent): Node then uses createConnection.
          createConnection: (_o: unknown, cb: (error: Error | null, socket?: import('node:net').Socket) => void) => {
            openForwardSocket(route, { ...options, preAuth: false }).then((s) => cb(null, s), (e: Error) => cb(e));
            return undefined;
          },
        } as never);
        current.on('response', (res: IncomingMessage) => {
          if (res.statusCode === 407 && !abandoned) {
            res.resume();
            retry(res);
            return;
          }
          res.once('close', release);
          emit('response', res);
        });
        current.on('error', (error) => {
          emit('error', forwardFailure(route.proxy, what, error));
          release();
        });
        current.end(Buffer.concat(chunks));
      },
      (error: unknown) => {
        emit('error', error);
        release();
      },
    );
  };
  req.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    // A failure of the proxy connection (reset, hang-up, an answer that is not HTTP) is reported as
    // the proxy's, naming it; an error from the caller's own destroy() passes as it is.
    if (event === 'error' && !req.destroyed && args[0] instanceof Error) return emit('error', forwardFailure(route.proxy, what, args[0]));
    const res = args[0] as IncomingMessage;
    if (event !== 'response' || res.statusCode !== 407 || !replayable) return emit(event, ...args);
    held = res;
    held.on('error', () => undefined); // released (destroyed) unread once the final answer is in
    retry(res);
    return true;
  }) as typeof req.emit;
}

function toList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
