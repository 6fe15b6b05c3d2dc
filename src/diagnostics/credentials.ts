import { kerberosPlatform } from '../config/platform.js';
import type { Check } from './doctor.js';
import type { TicketCacheState } from './ticket-cache.js';

export interface CredentialsEvidence {
  /** klist before the token was asked for. */
  before: TicketCacheState;
  /** klist after a token was made where the cache showed none: GSSAPI stores what it got from a client keytab. */
  after?: TicketCacheState | undefined;
  /** Whether GSSAPI made a token for the proxy's service: the proof either way. */
  token: 'made' | 'failed' | 'not tried';
  /** KRB5_CLIENT_KTNAME, where GSSAPI (MIT) gets and renews a TGT by itself. */
  clientKeytab?: string | undefined;
  platform: NodeJS.Platform;
}

/** Where the credentials GSSAPI used come from, as `doctor --json` names it. */
export type CredentialsSource = 'ticket cache' | 'client keytab' | 'windows logon';

/** The source the evidence shows; undefined when it shows none (no token and no valid ticket, or a token from credentials klist cannot see). */
export function credentialsSource(e: CredentialsEvidence): CredentialsSource | undefined {
  if (e.before.klist === 'skipped') return e.token === 'made' ? 'windows logon' : undefined;
  if (e.before.valid) return 'ticket cache';
  if (e.token === 'made' && e.clientKeytab) return 'client keytab';
  return undefined;
}

/** `kinit user@REALM` with the principal the cache names, when it names one (an expired ticket's). */
export function withPrincipal(remedy: string, principal: string | undefined): string {
  return principal ? remedy.replace('kinit user@REALM', `kinit ${principal}`) : remedy;
}

/**
 * doctor's `ticket` line: who holds which ticket until when, and where the credentials come from (the
 * ticket cache, a client keytab, the Windows logon). It never fails: whether credentials work is what
 * the token line proves, so a klist that is missing, differs, or cannot see the credentials GSSAPI uses
 * is detail, and only a missing ticket with no token is worth a warning.
 */
export function credentialsCheck(e: CredentialsEvidence): Check {
  const name = 'ticket';
  const noCredentials = withPrincipal(kerberosPlatform(e.platform).remedies.noCredentials, e.before.listing?.principal);
  const unproven = e.token === 'made' ? 'ok' : 'warn';
  if (e.before.klist === 'skipped') {
    const detail = "the Windows logon session's tickets, through SSPI (`klist` in a console lists them)";
    return e.token === 'made' ? { name, status: 'ok', detail } : { name, status: 'warn', detail, remedy: noCredentials };
  }
  if (e.before.klist === 'missing') {
    return {
      name,
      status: e.token === 'made' ? 'ok' : 'skip',
      detail: `klist not found, so no detail on the ticket${e.token === 'made' ? '; the token below proves the credentials' : ''}`,
      remedy: 'install the Kerberos client tools to see it here (Debian/Ubuntu: krb5-user)',
    };
  }
  const listed = e.before.listing;
  if (e.before.valid) {
    if (listed?.principal && listed.tgt) return { name, status: 'ok', detail: `${listed.principal}, expires ${listed.tgt.expires}, from the ticket cache${listed.cache ? ` ${listed.cache}` : ''}` };
    return { name, status: 'ok', detail: `klist -s reports a valid ticket${listed?.principal ? ` for ${listed.principal}` : ''}; its listing was not understood (neither MIT's nor Heimdal's format)` };
  }
  if (e.token === 'made') {
    const from = e.clientKeytab ? `from the client keytab ${e.clientKeytab} (KRB5_CLIENT_KTNAME)` : 'from credentials klist does not show (a client keytab, or a cache klist cannot read)';
    const now = e.after?.listing;
    const who = now?.principal ?? 'a principal';
    return { name, status: 'ok', detail: `${who} ${from}, not from the ticket cache${now?.tgt ? `; its ticket now expires ${now.tgt.expires}` : ''}` };
  }
  // A listed TGT that `klist -s` does not count is an expired one (MIT does not mark it, Heimdal does).
  const why = listed?.tgt ? `the ticket of ${listed.principal ?? 'the cache'} has expired${listed.tgt.expired ? '' : ` (${listed.tgt.expires})`}` : 'no Kerberos ticket';
  const said = e.before.complaint ? ` (klist: ${e.before.complaint})` : '';
  if (e.token === 'failed' && e.clientKeytab) {
    // GSSAPI had a client keytab to get a ticket from and got none: that keytab is the thing to check.
    const keytab = `the client keytab ${e.clientKeytab} (KRB5_CLIENT_KTNAME)`;
    return { name, status: unproven, detail: `${why}${said}, and none from ${keytab}`, remedy: `check that ${keytab} exists and holds the user's key (\`klist -k ${e.clientKeytab}\`); or: ${noCredentials}` };
  }
  return { name, status: unproven, detail: `${why}${said}`, remedy: noCredentials };
}
