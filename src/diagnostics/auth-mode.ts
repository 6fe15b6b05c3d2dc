import type { Socket } from 'node:net';
import type { ProxyRoute } from '../config/proxy-config.js';
import { ProxyAuthSession, type AuthMode } from '../transport/proxy-auth-session.js';
import { ProxyMutualAuthError, ProxyTimeoutError } from '../transport/errors.js';
import { dialProxy, type DialOptions } from '../transport/proxy-socket.js';
import { exchangeHead } from '../transport/head-exchange.js';
import type { ResponseHead } from '../transport/response-head.js';

/** What became of the proxy's Negotiate reply token on one answer: the transport's own verification's verdict. */
export type ReplyToken = 'verified' | 'bad' | 'none';

/** What two forwarded requests on one kept-alive connection showed of a Negotiate proxy. */
export interface ForwardedAuthFacts {
  /** The first request's answer (it carried a token), e.g. `200 OK`. */
  answer: string;
  /** `connection`: the second request, with no token, passed; `request`: it was challenged; null: not seen (the proxy closed the connection, or refused the token). */
  mode: AuthMode | null;
  /** Why `mode` is null. */
  unseen?: string;
  /** The reply token on the first answer; null when the token was refused (a 407). */
  replyToken: ReplyToken | null;
  /** The verification's error, for a `bad` token. */
  error?: ProxyMutualAuthError;
}

/**
 * Asks a Negotiate proxy twice on one kept-alive connection, as a client pool does: a forwarded `HEAD`
 * with a fresh token (the session's own, whose reply token the session verifies), then one without.
 * Undefined when no token could be made (the token line says why). Throws what dialing throws.
 */
export async function probeForwardedAuth(
  route: ProxyRoute,
  target: URL,
  options: DialOptions & { tokenTimeout: number; principal?: string },
): Promise<ForwardedAuthFacts | undefined> {
  // Mutual authentication is not required here: the facts are gathered, and advice.ts judges them.
  const session = new ProxyAuthSession(route, { tokenTimeout: options.tokenTimeout, ...(options.principal && { principal: options.principal }) });
  const token = await session.preAuth();
  if (token === undefined || session.sent !== 'negotiate') return undefined;
  const what = `HEAD ${target.origin}`;
  const socket = await dialProxy(route.proxy, options);
  socket.on('error', () => undefined); // a failure is seen by the reader below
  try {
    const first = await head(socket, route, target, token, options.timeout);
    const answer = `${first.statusCode} ${first.statusText}`.trimEnd();
    if (first.statusCode === 407) return { answer, mode: null, unseen: 'the proxy refused the token', replyToken: null };
    // A refusal of the head's size is not an answer to the token: it says nothing of the mode.
    const tooLarge = session.refusedForSize(first.statusCode, first.statusText, what, first.headers);
    if (tooLarge) throw tooLarge;
    let replyToken: ReplyToken;
    let error: ProxyMutualAuthError | undefined;
    try {
      replyToken = (await session.verify(first.headers, `its ${first.statusCode} answer to ${what}`)) ? 'verified' : 'none';
    } catch (e) {
      if (!(e instanceof ProxyMutualAuthError)) throw e;
      replyToken = 'bad';
      error = e;
    }
    const facts: ForwardedAuthFacts = { answer, mode: null, replyToken, ...(error && { error }) };
    if (/\bclose\b/i.test(String(first.headers['connection'] ?? '')) || socket.destroyed) {
      return { ...facts, unseen: `the proxy closed the connection after its ${answer} answer, so no second request could go on it` };
    }
    let second: ResponseHead;
    try {
      second = await head(socket, route, target, undefined, options.timeout);
    } catch (e) {
      if (e instanceof ProxyTimeoutError) throw e;
      return { ...facts, unseen: `the proxy closed the connection after its ${answer} answer, so no second request could go on it` };
    }
    return { ...facts, mode: second.statusCode === 407 ? 'request' : 'connection' };
  } finally {
    socket.destroy();
  }
}

/** One forwarded HEAD on the kept-alive connection (a HEAD's answer has no body, so the next one follows it). */
function head(socket: Socket, route: ProxyRoute, target: URL, token: string | undefined, timeout: number): Promise<ResponseHead> {
  // Absolute form without userinfo or fragment, as the transport's own probe sends it.
  return exchangeHead(socket, `HEAD ${target.origin}${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n${token ? `Proxy-Authorization: ${token}\r\n` : ''}\r\n`, {
    method: 'HEAD',
    wait: timeout,
    timedOut: () => new ProxyTimeoutError(route.proxy, `waiting for the answer to HEAD ${target.origin} from`, timeout, 'response'),
    failed: (error) => error,
  });
}
