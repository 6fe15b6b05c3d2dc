import { redactUrl } from '../redact.js';
import { InvalidProxyUrlError, UnsupportedProxySchemeError } from './errors.js';
import { DEFAULT_PORTS, unbracket } from './host.js';

/** A parsed proxy: where to connect, its credentials, and where the setting came from. */
export interface ProxyEndpoint {
  /** `http:` or `https:` (TLS to the proxy itself). */
  protocol: 'http:' | 'https:';
  /** Host name without brackets, as used for the connection and the default SPN. */
  hostname: string;
  port: number;
  /** Userinfo of the proxy URL, decoded; used for Basic only. */
  credentials?: { username: string; password: string };
  /** The variable or option this proxy came from, e.g. `HTTPS_PROXY` or `options.proxy`. */
  source: string;
  /** The URL with credentials masked: the only form that may be shown. */
  redacted: string;
  /** `http://host:port`, no credentials. */
  origin: string;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Parses a proxy setting. A value without a scheme means `http://` (curl, undici). Throws a typed
 * error naming `source` for a malformed URL or a scheme other than http/https.
 */
export function parseProxyUrl(value: string, source: string): ProxyEndpoint {
  const trimmed = value.trim();
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  const withScheme = scheme ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidProxyUrlError(source, redactUrl(withScheme), 'cannot be parsed');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UnsupportedProxySchemeError(source, redactUrl(url), url.protocol.slice(0, -1));
  }
  if (url.hostname === '') throw new InvalidProxyUrlError(source, redactUrl(url), 'no host');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new InvalidProxyUrlError(source, redactUrl(url), 'a proxy URL has no path, query or fragment');
  }
  let credentials: ProxyEndpoint['credentials'];
  if (url.username !== '' || url.password !== '') {
    try {
      credentials = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
    } catch {
      throw new InvalidProxyUrlError(source, redactUrl(url), 'bad percent-encoding in the credentials');
    }
  }
  const hostname = unbracket(url.hostname);
  const port = url.port === '' ? (DEFAULT_PORTS[url.protocol] as number) : Number(url.port);
  const endpoint: ProxyEndpoint = {
    protocol: url.protocol,
    hostname,
    port,
    source,
    redacted: redactUrl(url),
    origin: `${url.protocol}//${url.host}`,
  };
  if (credentials) endpoint.credentials = credentials;
  return endpoint;
}
