import { InvalidOptionError } from './errors.js';

/**
 * A GSS host-based service name, `HTTP@host`. `HTTP/host` is accepted and converted (GSSAPI on Linux
 * refuses the slash form as a host-based name); a realm cannot be part of such a name.
 */
export function normalizeSpn(value: string, source: string): string {
  const m = /^([^@/\s]+)[@/]([^@/\s]+)$/.exec(value);
  if (!m) {
    throw new InvalidOptionError(source, `"${value}" is not a service name of the form HTTP@proxy.host (HTTP/proxy.host is accepted too; no realm)`);
  }
  return `${m[1]}@${m[2]}`;
}
