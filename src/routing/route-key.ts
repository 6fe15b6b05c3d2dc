import { createHmac, randomBytes } from 'node:crypto';
import type { Route } from '../config/proxy-config.js';
import type { ProxyEndpoint } from '../config/proxy-url.js';

/** Per process: a credential's pool-key id cannot be recomputed elsewhere, or guessed offline. */
const CREDENTIAL_KEY = randomBytes(32);
/** Endpoints are immutable parts of a compiled configuration, so one id per endpoint object. */
const credentialIds = new WeakMap<ProxyEndpoint, string>();

function credentialId(proxy: ProxyEndpoint): string {
  const c = proxy.credentials;
  if (!c) return '-';
  let id = credentialIds.get(proxy);
  if (id === undefined) {
    // Length-prefixed, so user "a:b" + password "c" and user "a" + password "b:c" differ.
    id = createHmac('sha256', CREDENTIAL_KEY).update(`${c.username.length}:${c.username}:${c.password}`).digest('base64url').slice(0, 22);
    credentialIds.set(proxy, id);
  }
  return id;
}

/**
 * The route's part of a pool key: `direct`, or the proxy's origin, auth scheme, SPN and an opaque id of
 * its credentials (an HMAC under a per-process key: the key shows up in `agent.sockets` and in
 * `NODE_DEBUG=http`, so it never holds the credential itself).
 */
export function routeKey(route: Route): string {
  if (route.type === 'direct') return 'direct';
  return `proxy ${route.proxy.origin} ${route.auth} ${route.spn ?? '-'} ${credentialId(route.proxy)}`;
}
