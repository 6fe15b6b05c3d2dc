import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentialsCheck, type CredentialsEvidence } from '../../src/diagnostics/credentials.js';
import type { CheckStatus } from '../../src/diagnostics/doctor.js';
import type { TicketCacheState } from '../../src/diagnostics/ticket-cache.js';

const VALID: TicketCacheState = {
  klist: 'ran',
  valid: true,
  listing: { format: 'mit', cache: 'FILE:/tmp/krb5cc_1000', principal: 'alice@JAATO.TEST', tgt: { expires: '12/02/26 21:46:42', expired: false } },
};
const EMPTY: TicketCacheState = { klist: 'ran', valid: false, complaint: 'No credentials cache found (filename: /tmp/krb5cc_1000)' };
const EXPIRED_HEIMDAL: TicketCacheState = {
  klist: 'ran',
  valid: false,
  listing: { format: 'heimdal', principal: 'alice@JAATO.TEST', tgt: { expires: '>>>Expired<<<', expired: true } },
};
const UNREADABLE: TicketCacheState = { klist: 'ran', valid: true };

/** Evidence → the ticket line: status, what the detail says, and the remedy when there is one. */
const ROWS: ReadonlyArray<readonly [string, CredentialsEvidence, CheckStatus, RegExp, RegExp | undefined]> = [
  ['ticket cache, token made', { before: VALID, token: 'made', platform: 'linux' }, 'ok', /^alice@JAATO\.TEST, expires 12\/02\/26 21:46:42, from the ticket cache FILE:\/tmp\/krb5cc_1000$/, undefined],
  [
    'empty cache, client keytab, token made: credentials klist cannot show',
    { before: EMPTY, after: VALID, token: 'made', clientKeytab: '/tmp/alice.keytab', platform: 'linux' },
    'ok',
    /^alice@JAATO\.TEST from the client keytab \/tmp\/alice\.keytab \(KRB5_CLIENT_KTNAME\), not from the ticket cache; its ticket now expires 12\/02\/26 21:46:42$/,
    undefined,
  ],
  ['empty cache, token made, nothing to say where from', { before: EMPTY, token: 'made', platform: 'linux' }, 'ok', /^a principal from credentials klist does not show/, undefined],
  ['klist not installed, token made: never a failure', { before: { klist: 'missing', valid: false }, token: 'made', platform: 'linux' }, 'ok', /klist not found.*the token below proves/, /krb5-user/],
  ['klist not installed, no token', { before: { klist: 'missing', valid: false }, token: 'failed', platform: 'linux' }, 'skip', /klist not found/, /krb5-user/],
  ['klist -s says valid, listing not understood', { before: UNREADABLE, token: 'made', platform: 'linux' }, 'ok', /valid ticket; its listing was not understood/, undefined],
  ['empty cache, token failed', { before: EMPTY, token: 'failed', platform: 'linux' }, 'warn', /^no Kerberos ticket \(klist: No credentials cache found/, /^Run `kinit user@REALM`/],
  ['expired (MIT does not mark it), token failed: kinit for the principal the cache names', { before: { ...EXPIRED_HEIMDAL, listing: { format: 'mit', principal: 'alice@JAATO.TEST', tgt: { expires: '12/01/26 10:00:00', expired: false } } }, token: 'failed', platform: 'linux' }, 'warn', /^the ticket of alice@JAATO\.TEST has expired \(12\/01\/26 10:00:00\)$/, /^Run `kinit alice@JAATO\.TEST`/],
  ['expired (Heimdal marks it), token failed, macOS', { before: EXPIRED_HEIMDAL, token: 'failed', platform: 'darwin' }, 'warn', /^the ticket of alice@JAATO\.TEST has expired$/, /Ticket Viewer/],
  ['Windows, token made: the logon session', { before: { klist: 'skipped', valid: false }, token: 'made', platform: 'win32' }, 'ok', /Windows logon session's tickets, through SSPI/, undefined],
  ['Windows, token failed', { before: { klist: 'skipped', valid: false }, token: 'failed', platform: 'win32' }, 'warn', /Windows logon/, /domain account/],
  [
    'empty cache, a client keytab, token failed: the keytab is what to check',
    { before: EMPTY, token: 'failed', clientKeytab: '/tmp/none.keytab', platform: 'linux' },
    'warn',
    /^no Kerberos ticket \(klist: No credentials cache found .*\), and none from the client keytab \/tmp\/none\.keytab \(KRB5_CLIENT_KTNAME\)$/,
    /^check that the client keytab \/tmp\/none\.keytab \(KRB5_CLIENT_KTNAME\) exists and holds the user's key \(`klist -k \/tmp\/none\.keytab`\); or: Run `kinit user@REALM`/,
  ],
  ['no proxy, so no token, and no ticket', { before: EMPTY, token: 'not tried', platform: 'linux' }, 'warn', /no Kerberos ticket/, /kinit/],
];

test("doctor's ticket line: detail from klist, never a failure; the token is the proof", () => {
  for (const [name, evidence, status, detail, remedy] of ROWS) {
    const check = credentialsCheck(evidence);
    assert.equal(check.name, 'ticket', name);
    assert.equal(check.status, status, name);
    assert.notEqual(check.status, 'fail', name);
    assert.match(check.detail, detail, name);
    if (remedy) assert.match(check.remedy ?? '', remedy, name);
    else assert.equal(check.remedy, undefined, name);
  }
});
