import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The credential a local proxy (serve, the safety net) asks of its clients: loopback is shared by every
 * account on the machine, so without it any local user could borrow the Kerberos identity of the user
 * who started the proxy. Random per process (the safety net) or per run (serve), sent as Basic
 * `Proxy-Authorization`: every HTTP client takes it from the userinfo of its proxy URL.
 */
export const CLIENT_USER = 'jaato';

/** A fresh `jaato:<32 hex digits>` (128 random bits). */
export function newClientCredential(): string {
  return `${CLIENT_USER}:${randomBytes(16).toString('hex')}`;
}

/** `origin` (`http://127.0.0.1:3128`) with `user:password` as its userinfo, without a trailing slash. */
export function withCredential(origin: string, credential: string): string {
  const url = new URL(origin);
  const colon = credential.indexOf(':');
  url.username = credential.slice(0, colon);
  url.password = credential.slice(colon + 1);
  return url.href.replace(/\/$/, '');
}

/**
 * Whether a `Proxy-Authorization` value is Basic with exactly `wanted` (`user:password`). Compared as
 * SHA-256 digests in constant time, so neither the content nor the length of the expected value leaks
 * through timing.
 */
export function sentCredential(header: string | undefined, wanted: string): boolean {
  const match = /^basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header ?? '');
  const sent = match ? Buffer.from(match[1] ?? '', 'base64') : Buffer.alloc(0);
  const digest = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest();
  return timingSafeEqual(digest(sent), digest(wanted)) && match !== null;
}
