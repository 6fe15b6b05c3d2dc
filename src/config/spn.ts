import { InvalidOptionError } from './errors.js';
import { unbracket } from './host.js';
import { kerberosPlatform } from './platform.js';

/** service, then `@host` or `/host` with an optional `@REALM`; no spaces, one `/` at most. */
const SPN = /^([^@/\s]+)(?:@([^@/\s]+)|\/([^@/\s]+)(?:@([^@/\s]*))?)$/;

/**
 * The service name for a proxy host in the form the platform's Kerberos takes: `HTTP/host` for SSPI,
 * `HTTP@host` for GSSAPI. IPv6 literals go without brackets (an SPN is not a URL).
 */
export function defaultSpn(proxyHost: string, platform: NodeJS.Platform = process.platform): string {
  return `HTTP${kerberosPlatform(platform).separator}${unbracket(proxyHost)}`;
}

/**
 * A service name given by the user (`source` names the variable or option), in either spelling, turned
 * into the platform's form: `HTTP/host` and `HTTP@host` both become `HTTP/host` on Windows and
 * `HTTP@host` elsewhere. A realm (`HTTP/host@REALM`) is kept for SSPI and refused for GSSAPI, which
 * cannot express it; the error says why and what to write instead.
 */
export function normalizeSpn(value: string, source: string, platform: NodeJS.Platform = process.platform): string {
  const p = kerberosPlatform(platform);
  const m = SPN.exec(value);
  const host = m && hostOf(m[2] ?? m[3] ?? '');
  if (!m || !host || m[4] === '') {
    const realm = p.realmRefused ? '' : ', or HTTP/proxy.host@REALM';
    throw new InvalidOptionError(source, `"${value}" is not a service name: write HTTP/proxy.host or HTTP@proxy.host${realm}`);
  }
  const realm = m[4];
  if (realm !== undefined && p.realmRefused) {
    throw new InvalidOptionError(
      source,
      `"${value}" names the realm ${realm}, which cannot work on ${platform}: ${p.realmRefused}. Write ${m[1]}@${host} instead`,
    );
  }
  return `${m[1]}${p.separator}${host}${realm !== undefined ? `@${realm}` : ''}`;
}

/** `[::1]` → `::1`; a stray bracket makes the name invalid (undefined). */
function hostOf(raw: string): string | undefined {
  const host = raw.startsWith('[') && raw.endsWith(']') ? unbracket(raw) : raw;
  return host === '' || /[[\]]/.test(host) ? undefined : host;
}
