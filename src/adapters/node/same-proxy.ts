import type { Route } from '../../config/proxy-config.js';
import { unbracket } from '../../config/host.js';

/**
 * The proxy a client's own proxy agent sends through, read from its public `proxy` field when that is
 * a URL (https-proxy-agent and http-proxy-agent 7 and later: what Azure's core-rest-pipeline and
 * gaxios build from HTTPS_PROXY). Only an own data property is read: no getter of the caller's runs.
 */
export function agentProxy(agent: object): URL | undefined {
  const value: unknown = Object.getOwnPropertyDescriptor(agent, 'proxy')?.value;
  return value instanceof URL ? value : undefined;
}

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * Whether `proxy` (a client's proxy agent's) is the proxy `route` sends through: same scheme, host and
 * port, and the same credentials (none on either, or equal). Such an agent only repeats the choice our
 * configuration makes for the request, so the request may take our route (and our Negotiate auth)
 * instead; an agent to any other proxy, or with credentials of its own, is the caller's choice.
 */
export function sameProxy(proxy: URL, route: Route): boolean {
  if (route.type !== 'proxy') return false;
  const ours = route.proxy;
  const port = proxy.port === '' ? DEFAULT_PORT[proxy.protocol] : Number(proxy.port);
  if (proxy.protocol !== ours.protocol || port !== ours.port) return false;
  if (unbracket(proxy.hostname).toLowerCase() !== unbracket(ours.hostname).toLowerCase()) return false;
  return sameCredentials(proxy, ours.credentials);
}

function sameCredentials(proxy: URL, ours: { readonly username: string; readonly password: string } | undefined): boolean {
  try {
    const username = decodeURIComponent(proxy.username);
    const password = decodeURIComponent(proxy.password);
    if (ours === undefined) return username === '' && password === '';
    return username === ours.username && password === ours.password;
  } catch {
    return false; // a malformed escape: not provably ours
  }
}
