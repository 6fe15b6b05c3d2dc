import type { ExchangeAction, ExchangeEvent } from './proxy-exchange.js';
import type { ProxyAuthSession } from './proxy-auth-session.js';

type Headers = Record<string, string | readonly string[] | undefined>;

/**
 * The authenticator's step the exchange asked for, as the event that reports it: the first token
 * (`token`), or the leg that answers a 407's challenge (`answer`). Negotiate and Basic legs go on any
 * connection (a fresh Negotiate context per attempt); a multi-leg scheme's later legs are bound to
 * the connection of their challenge (`sameConnection`).
 */
export async function makeLeg(session: ProxyAuthSession, action: Extract<ExchangeAction, { do: 'token' | 'answer' }>, signal?: AbortSignal): Promise<ExchangeEvent> {
  try {
    if (action.do === 'token') return { type: 'token', header: await session.preAuth(signal) };
    const { header, sameConnection } = await session.nextLeg(action.challenges, { ...(signal && { signal }), onAuthenticatedConnection: action.onAuthenticatedConnection });
    return { type: 'token', header, sameConnection };
  } catch (error) {
    return { type: 'token-failed', error };
  }
}

/** The mutual-auth check of an answer the exchange holds, as the event that reports it. */
export async function checkReply(session: ProxyAuthSession, headers: Headers, answer: string, verifiedConnection: boolean): Promise<ExchangeEvent> {
  try {
    return { type: 'verified', ok: await session.verify(headers, answer, verifiedConnection) };
  } catch (error) {
    return { type: 'verify-failed', error };
  }
}
