import { kerberosPlatform } from '../config/platform.js';
import { tgtOf } from './ccache-file.js';
import type { Check } from './check.js';
import { cacheExpired, type CredentialRead, type CredentialState } from './ticket-cache.js';

export interface CredentialsEvidence {
  /** The library's view of the default credential, and the FILE: cache read before the library was asked. */
  before: CredentialState;
  /** Whether a token was made for the proxy's service: the proof either way. */
  token: 'made' | 'failed' | 'not tried';
  /** KRB5_CLIENT_KTNAME, where GSSAPI (MIT, Heimdal) gets and renews a TGT by itself. */
  clientKeytab?: string | undefined;
  platform: NodeJS.Platform;
  /** Seconds since the epoch, for the cache's times. */
  now: number;
}

/** Where the credentials GSSAPI used come from, as `doctor --json` names it. */
export type CredentialsSource = 'ticket cache' | 'client keytab' | 'windows logon';

/** The cache held a TGT still valid before the library was asked; undefined when the cache is not a readable file. */
function cacheHeldTicket(e: CredentialsEvidence): boolean | undefined {
  const contents = e.before.cache?.contents;
  if (!e.before.cache) return undefined;
  const tgt = contents && tgtOf(contents);
  return tgt !== undefined && tgt.endtime > e.now;
}

/** The source the evidence shows; undefined when it shows none. */
export function credentialsSource(e: CredentialsEvidence): CredentialsSource | undefined {
  if (e.platform === 'win32') return e.token === 'made' ? 'windows logon' : undefined;
  const valid = e.before.credential.state === 'valid';
  // With a client keytab the library fills the cache itself: only a ticket there before says it was the cache.
  if (e.clientKeytab && (valid || e.token === 'made') && cacheHeldTicket(e) !== true) return 'client keytab';
  if (valid) return 'ticket cache';
  return undefined;
}

/** `kinit user@REALM` with the principal the cache names, when it names one (an expired ticket's). */
export function withPrincipal(remedy: string, principal: string | undefined): string {
  return principal ? remedy.replace('kinit user@REALM', `kinit ${principal}`) : remedy;
}

/** `9 h 59 min`, `42 s`: a lifetime as a person reads it. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The library's words when it has no credential, for the detail. */
function said(c: CredentialRead): string {
  return 'said' in c && c.said ? ` (${c.said})` : '';
}

/**
 * doctor's `ticket` line: who holds a credential and for how long, as the security library itself
 * reports it, and where it comes from (the ticket cache, a client keytab, the Windows logon). It never
 * fails: whether credentials work is what the token line proves, so only a missing or expired
 * credential with no token is worth a warning. `kinit -R` is offered only for a ticket still renewable.
 */
export function credentialsCheck(e: CredentialsEvidence): Check {
  const name = 'ticket';
  const cachePrincipal = e.before.cache?.contents?.principal;
  const noCredentials = withPrincipal(kerberosPlatform(e.platform).remedies.noCredentials, cachePrincipal);
  const unproven = e.token === 'made' ? 'ok' : 'warn';
  if (e.platform === 'win32') {
    const detail = "the Windows logon session's tickets, through SSPI (`klist` in a console lists them)";
    return e.token === 'made' ? { name, status: 'ok', detail } : { name, status: 'warn', detail, remedy: noCredentials };
  }
  const c = e.before.credential;
  if (c.state === 'no library') return { name, status: 'skip', detail: 'no Kerberos library loaded, so nothing to ask about credentials (see the kerberos library line)' };
  const source = credentialsSource(e);
  if (c.state === 'valid') {
    const who = c.principal ?? 'a principal the library does not name';
    const left = c.lifetimeSeconds === undefined ? 'with no end the library states' : `valid for ${duration(c.lifetimeSeconds)} (until ${iso(e.now + c.lifetimeSeconds)})`;
    if (source === 'client keytab') return { name, status: 'ok', detail: `${who} from the client keytab ${e.clientKeytab} (KRB5_CLIENT_KTNAME), not from the ticket cache; ${left}` };
    const tgt = e.before.cache?.contents && tgtOf(e.before.cache.contents);
    const renew = tgt?.renewable && tgt.renewTill > e.now ? `; renewable until ${iso(tgt.renewTill)} (\`kinit -R\`)` : '';
    const where = e.before.cache ? ` FILE:${e.before.cache.path}` : '';
    return { name, status: 'ok', detail: `${who}, ${left}, from the ticket cache${where}${renew}` };
  }
  if (e.token === 'made') {
    const from = e.clientKeytab ? `from the client keytab ${e.clientKeytab} (KRB5_CLIENT_KTNAME)` : 'from credentials the library did not show';
    return { name, status: 'ok', detail: `a principal ${from}, not from the ticket cache` };
  }
  // Heimdal reports an expired cache as holding no credentials: the cache file says which it is.
  const expired = c.state === 'expired' || cacheExpired(e.before.cache, e.now);
  const tgt = e.before.cache?.contents && tgtOf(e.before.cache.contents);
  const why = expired
    ? `the ticket of ${cachePrincipal ?? 'the cache'} has expired${tgt ? ` (${iso(tgt.endtime)})` : ''}`
    : c.state === 'unreadable'
      ? 'the Kerberos library could not read the credentials'
      : 'no Kerberos ticket';
  if (e.clientKeytab) {
    // GSSAPI had a client keytab to get a ticket from and got none: that keytab is the thing to check.
    const keytab = `the client keytab ${e.clientKeytab} (KRB5_CLIENT_KTNAME)`;
    return { name, status: unproven, detail: `${why}${said(c)}, and none from ${keytab}`, remedy: `check that ${keytab} exists and holds the user's key (\`klist -k ${e.clientKeytab}\`); or: ${noCredentials}` };
  }
  return { name, status: unproven, detail: `${why}${said(c)}`, remedy: noCredentials };
}
