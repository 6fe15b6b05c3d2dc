import { readFileSync } from 'node:fs';
import type { ProxyDispatcherOptions } from '../adapters/undici/proxy-dispatcher.js';
import { firstSet, PROXY_VARIABLES, type Env } from '../config/env.js';
import { parseProxyUrl } from '../config/proxy-url.js';
import { normalizeSpn } from '../config/spn.js';
import { integerOption, optionLabel, secondsOption } from './args.js';
import { CommandFailure, UsageError } from './errors.js';

/**
 * The proxy and trust options `fetch`, `doctor` and `serve` share, with curl's names and meaning, so
 * the three take the same command line for the same proxy.
 */
export const PROXY_OPTIONS = {
  proxy: { type: 'string', short: 'x' },
  'proxy-cacert': { type: 'string' },
} as const;

export const CA_OPTION = { cacert: { type: 'string' } } as const;

/**
 * What else changes the route, the proxy's authentication, the trust or the connect limit: `fetch`
 * and `doctor` both take these, so doctor checks the setup a fetch command line would use.
 */
export const ROUTE_OPTIONS = {
  'proxy-user': { type: 'string', short: 'U' },
  'proxy-negotiate': { type: 'boolean' },
  'proxy-ntlm': { type: 'boolean' },
  'proxy-anyauth': { type: 'boolean' },
  'proxy-service-name': { type: 'string' },
  noproxy: { type: 'string' },
  insecure: { type: 'boolean', short: 'k' },
  'proxy-insecure': { type: 'boolean' },
  'connect-timeout': { type: 'string' },
  timeout: { type: 'string' },
} as const;

/** How `-x` is named in messages, in place of the library's `options.proxy`. */
/** The help lines of the routing and trust options fetch and doctor share (they mean the same in both). */
export const ROUTE_AND_TRUST_HELP = `  -x, --proxy <url>           the proxy for every scheme, instead of HTTPS_PROXY/HTTP_PROXY ("" for none)
  -U, --proxy-user <u:p>      credentials for the proxy, Basic's or NTLM's DOMAIN\\user (never shown)
      --proxy-negotiate       Kerberos/SPNEGO to the proxy, as JAATO_KERBEROS_PROXY=true
      --proxy-ntlm            NTLM only, as JAATO_PROXY_AUTH=ntlm (-U 'DOMAIN\\user:password', or the
                              platform's credentials: the logged-on user, NTLM_USER_FILE)
      --proxy-anyauth         the best scheme the proxy offers: Negotiate, then NTLM, then Basic
      --proxy-service-name <spn>  the proxy's Kerberos service name (HTTP/host), as JAATO_KERBEROS_SPN
      --noproxy <list>        hosts to reach directly, instead of NO_PROXY
  -k, --insecure              do not verify the origin's certificate
      --cacert <file>         trust this CA (PEM) for the origin, in addition to the defaults
      --proxy-cacert <file>   trust this CA (PEM) for an https:// proxy, in addition to the defaults
      --proxy-insecure        do not verify an https:// proxy's certificate`;

export const PROXY_SOURCE = '-x/--proxy';

/**
 * `-x <url>` as routing options: the proxy for every scheme (messages name `-x/--proxy`), `-x ""` no
 * proxy at all (as in curl). A value that does not parse is a usage error naming the option.
 */
export function proxyRouting(value: string | undefined): { proxy?: string; proxySource?: string; noProxy?: string } {
  if (value === undefined) return {};
  if (value === '') return { noProxy: '*' };
  try {
    parseProxyUrl(value, PROXY_SOURCE);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return { proxy: value, proxySource: PROXY_SOURCE };
}

/** A `--cacert`/`--proxy-cacert` file's PEM; one that cannot be read ends the command with `exitCode`. */
export function readCa(path: string, label: string, exitCode: number): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CommandFailure(exitCode, `${label} ${path}: cannot read the CA file (${(error as Error).message})`, { cause: error });
  }
}

/** `user:password` as curl splits it (at the first colon); no prompt, so the colon is required. */
export function credentialsOf(value: string, label: string): { username: string; password: string } {
  const colon = value.indexOf(':');
  if (colon < 0) throw new UsageError(`${label} needs user:password (there is no password prompt)`);
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

/** A proxy value with these credentials in its userinfo, where the transport reads them. */
function withUserinfo(value: string, credentials: { username: string; password: string }): string {
  const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim()) ? value.trim() : `http://${value.trim()}`);
  url.username = credentials.username;
  url.password = credentials.password;
  return url.href;
}

type RouteValues = {
  proxy?: string | undefined;
  'proxy-user'?: string | undefined;
  'proxy-negotiate'?: boolean | undefined;
  'proxy-ntlm'?: boolean | undefined;
  'proxy-anyauth'?: boolean | undefined;
  'proxy-service-name'?: string | undefined;
  noproxy?: string | undefined;
};

/**
 * The proxy's scheme from curl's flags: --proxy-ntlm pins NTLM, --proxy-anyauth takes the best offered
 * (Kerberos included, as curl's does where it has GSSAPI), --proxy-negotiate turns Kerberos on. curl
 * lets the last flag win; two that disagree are a usage error here, not a silent pick.
 */
function schemeFromOptions(values: RouteValues): Pick<ProxyDispatcherOptions, 'kerberos' | 'proxyAuth'> {
  const given = (['proxy-negotiate', 'proxy-ntlm', 'proxy-anyauth'] as const).filter((f) => values[f]);
  if (given.length > 1) throw new UsageError(`${given.map((f) => `--${f}`).join(' and ')} choose different schemes: give one`);
  if (values['proxy-ntlm']) return { proxyAuth: 'ntlm' };
  if (values['proxy-anyauth']) return { proxyAuth: 'any', kerberos: true };
  return values['proxy-negotiate'] ? { kerberos: true } : {};
}

/** --proxy-service-name as the `spn` option: `HTTP/host` or `HTTP@host`, checked here so the error names the flag. */
function serviceNameOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    normalizeSpn(value.trim(), '--proxy-service-name');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return value.trim();
}

/**
 * Where to route, from -x, -U, --proxy-negotiate, --proxy-ntlm, --proxy-anyauth, --proxy-service-name and --noproxy. -U goes into the proxy URL of the
 * variable that would be used for each scheme (so messages still name that variable), or of -x.
 */
export function routeFromOptions(values: RouteValues, env: Env): ProxyDispatcherOptions & { env: Env } {
  const o: ProxyDispatcherOptions = {};
  const user = values['proxy-user'] === undefined ? undefined : credentialsOf(values['proxy-user'], optionLabel(ROUTE_OPTIONS, 'proxy-user'));
  const creds = user && (user.username !== '' || user.password !== '') ? user : undefined;
  const routedEnv: Record<string, string | undefined> = { ...env };
  const explicit = proxyRouting(values.proxy);
  if (explicit.proxy !== undefined) {
    Object.assign(o, explicit, creds && { proxy: withUserinfo(explicit.proxy, creds) });
  } else if (explicit.noProxy !== undefined) {
    o.noProxy = explicit.noProxy;
  } else if (creds) {
    for (const scheme of ['http:', 'https:'] as const) {
      const found = firstSet(env, PROXY_VARIABLES[scheme]);
      if (found) {
        try {
          routedEnv[found.name] = withUserinfo(found.value, creds);
        } catch {
          // a value that does not parse is reported by the configuration, naming its variable
        }
      }
    }
  }
  Object.assign(o, schemeFromOptions(values));
  const spn = serviceNameOf(values['proxy-service-name']);
  if (spn !== undefined) o.spn = spn;
  if (values.noproxy !== undefined && o.noProxy === undefined) o.noProxy = values.noproxy;
  return { ...o, env: routedEnv };
}

type TrustValues = { cacert?: string | undefined; 'proxy-cacert'?: string | undefined; insecure?: boolean | undefined; 'proxy-insecure'?: boolean | undefined };

/** The trust options from --cacert, --proxy-cacert, -k and --proxy-insecure; an unreadable CA file ends the command with `caExit`. */
export function trustFromOptions(values: TrustValues, caExit: number): Pick<ProxyDispatcherOptions, 'ca' | 'proxyCa' | 'rejectUnauthorized' | 'proxyTls'> {
  return {
    ...(values.cacert !== undefined && { ca: readCa(values.cacert, '--cacert', caExit) }),
    ...(values['proxy-cacert'] !== undefined && { proxyCa: readCa(values['proxy-cacert'], '--proxy-cacert', caExit) }),
    ...(values.insecure && { rejectUnauthorized: false }),
    ...(values['proxy-insecure'] && { proxyTls: { rejectUnauthorized: false } }),
  };
}

/**
 * The connect limit in milliseconds, from --connect-timeout (seconds, curl's) or --timeout (ms,
 * jaato-proxy's own); undefined for the default (so is `--connect-timeout 0`, as in curl).
 */
export function connectTimeoutOf(values: { 'connect-timeout'?: string | undefined; timeout?: string | undefined }): number | undefined {
  const seconds = secondsOption(values['connect-timeout'], optionLabel(ROUTE_OPTIONS, 'connect-timeout'));
  const ms = integerOption(values.timeout, optionLabel(ROUTE_OPTIONS, 'timeout'), 'a number of milliseconds (1 or more)', 1);
  if (seconds !== undefined && ms !== undefined) throw new UsageError('--connect-timeout and --timeout set the same limit: give one');
  return seconds || ms;
}
