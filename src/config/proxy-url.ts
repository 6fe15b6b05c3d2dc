import { redactUrl } from '../redact.js';
import { ProxyCredentials } from './proxy-credentials.js';
import { InvalidProxyUrlError, UnsupportedProxySchemeError } from './errors.js';
import { DEFAULT_PORTS, unbracket } from './host.js';

/** A parsed proxy: where to connect, its credentials, and where the setting came from. */
export interface ProxyEndpoint {
  /** `http:` or `https:` (TLS to the proxy itself). */
  protocol: 'http:' | 'https:';
  /** Host name without brackets, as used for the connection and the default SPN. */
  hostname: string;
  port: number;
  /** Userinfo of the proxy URL, decoded; used for Basic only (a ProxyCredentials when parsed: prints as `****`). */
  credentials?: { readonly username: string; readonly password: string };
  /** The variable or option this proxy came from, e.g. `HTTPS_PROXY` or `options.proxy`. */
  source: string;
  /** The URL with credentials masked: the only form that may be shown. */
  redacted: string;
  /** `http://host:port`, no credentials. */
  origin: string;
  /**
   * Parts of the value that name nothing a proxy uses, ignored as curl ignores them: the path (kept to
   * be shown in a warning), and whether there was a query or a fragment (never shown: either may hold
   * a token someone pasted along).
   */
  ignored?: { path?: string; query?: true; fragment?: true };
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Parses a proxy setting. A value without a scheme means `http://` (curl, undici). A path, query or
 * fragment (`http://proxy:8080/some/path`) is ignored as curl, Python and undici ignore it, and
 * recorded in `ignored` so that `explain` can say so. Throws a typed error naming `source` for a
 * malformed URL or a scheme other than http/https.
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
  const ignored: NonNullable<ProxyEndpoint['ignored']> = {};
  if (url.pathname !== '/' && url.pathname !== '') ignored.path = url.pathname;
  if (url.search !== '') ignored.query = true;
  if (url.hash !== '') ignored.fragment = true;
  // What is shown is what is used: scheme, credentials (masked), host and port.
  url.pathname = '/';
  url.search = '';
  url.hash = '';
  let credentials: ProxyEndpoint['credentials'];
  if (url.username !== '' || url.password !== '') {
    try {
      credentials = new ProxyCredentials(decodeURIComponent(url.username), decodeURIComponent(url.password));
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
  if (Object.keys(ignored).length > 0) endpoint.ignored = ignored;
  return endpoint;
}

/** The warning `explain` gives for a proxy whose value had parts that are ignored, if it had any. */
export function describeIgnoredParts(proxy: ProxyEndpoint): string | undefined {
  const { ignored } = proxy;
  if (!ignored) return undefined;
  const parts = [
    ...(ignored.path !== undefined ? [`the path "${ignored.path}"`] : []),
    ...(ignored.query ? ['the query'] : []),
    ...(ignored.fragment ? ['the fragment'] : []),
  ];
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0];
  return `${proxy.source}: ${list} of the proxy URL ignored (a proxy is named by scheme, host and port; curl ignores the rest too): using ${proxy.redacted}`;
}
