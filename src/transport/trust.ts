import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';

export type CaOption = NonNullable<tls.ConnectionOptions['ca']>;

let defaults: string[] | undefined;

/**
 * The CA certificates Node trusts when it is given none: its bundled roots, `NODE_EXTRA_CA_CERTS`, and
 * the system store where Node was told to use it. Node 22.15+ says so itself (`getCACertificates`); on
 * older lines the extra file is read as Node read it at start-up.
 */
export function defaultCaCertificates(): string[] {
  if (defaults) return defaults;
  const get = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates;
  if (get) defaults = get('default');
  else {
    defaults = [...tls.rootCertificates];
    const extra = process.env.NODE_EXTRA_CA_CERTS;
    if (extra) {
      try {
        defaults.push(readFileSync(extra, 'utf8'));
      } catch {
        // Node itself only warns about an unreadable file; the bundled roots still apply.
      }
    }
  }
  return defaults;
}

/**
 * `ca` as this library means it: certificates trusted in addition to Node's default trust, so a
 * corporate root added for one origin does not break every public host (Node's own `ca` replaces the
 * defaults). Built into one secure context, so the bundle is parsed once, not on every connection.
 */
export function secureContextTrusting(ca: CaOption): tls.SecureContext {
  const added = Array.isArray(ca) ? ca : [ca];
  return tls.createSecureContext({ ca: [...defaultCaCertificates(), ...added] });
}
