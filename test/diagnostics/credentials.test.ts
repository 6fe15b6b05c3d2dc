import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileCachePath, parseFileCcache, tgtOf } from '../../src/diagnostics/ccache-file.js';
import { credentialsCheck, credentialsSource, duration, type CredentialsEvidence } from '../../src/diagnostics/credentials.js';
import type { CheckStatus } from '../../src/diagnostics/doctor.js';
import type { CredentialState } from '../../src/diagnostics/ticket-cache.js';

const NOW = 1_796_600_000;
const MIT = { family: 'mit', library: 'libgssapi_krb5.so.2', version: undefined, api: 'GSSAPI' } as const;
const ISO = (s: number): string => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A cache file's contents: alice's TGT ending at `end`, renewable until `renewTill` when given. */
const cache = (end: number, renewTill = 0): CredentialState['cache'] => ({
  path: '/tmp/krb5cc_1000',
  contents: { principal: 'alice@JAATO.TEST', tickets: [{ server: 'krbtgt/JAATO.TEST@JAATO.TEST', endtime: end, renewTill, renewable: renewTill > 0 }] },
});
const VALID: CredentialState = { library: MIT, credential: { state: 'valid', principal: 'alice@JAATO.TEST', lifetimeSeconds: 35_940 }, cache: cache(NOW + 35_940) };
const NONE: CredentialState = { library: MIT, credential: { state: 'none', said: 'No credentials were supplied, or the credentials were unavailable or inaccessible' }, cache: { path: '/tmp/krb5cc_1000', contents: undefined } };
const EXPIRED_MIT: CredentialState = { library: MIT, credential: { state: 'expired', said: 'The referenced credential has expired' }, cache: cache(NOW - 60, NOW - 30) };
// Heimdal skips an expired ticket and says "no credentials": the cache file tells the two apart.
const EXPIRED_HEIMDAL: CredentialState = { library: { ...MIT, family: 'heimdal' }, credential: { state: 'none', said: 'No credentials were supplied' }, cache: cache(NOW - 60) };

/** Evidence → the ticket line: status, what the detail says, and the remedy when there is one. */
const ROWS: ReadonlyArray<readonly [string, Omit<CredentialsEvidence, 'now'>, CheckStatus, RegExp, RegExp | undefined]> = [
  ['ticket cache, token made', { before: VALID, token: 'made', platform: 'linux' }, 'ok', new RegExp(`^alice@JAATO\\.TEST, valid for 9 h 59 min \\(until ${ISO(NOW + 35_940)}\\), from the ticket cache FILE:/tmp/krb5cc_1000$`), undefined],
  ['renewable ticket: kinit -R is offered', { before: { ...VALID, cache: cache(NOW + 35_940, NOW + 86_400) }, token: 'made', platform: 'linux' }, 'ok', new RegExp(`renewable until ${ISO(NOW + 86_400)} \\(\`kinit -R\`\\)$`), undefined],
  [
    'empty cache, client keytab, token made: the library got the ticket from the keytab',
    { before: { ...VALID, cache: { path: '/tmp/krb5cc_1000', contents: undefined } }, token: 'made', clientKeytab: '/tmp/alice.keytab', platform: 'linux' },
    'ok',
    /^alice@JAATO\.TEST from the client keytab \/tmp\/alice\.keytab \(KRB5_CLIENT_KTNAME\), not from the ticket cache; valid for 9 h 59 min/,
    undefined,
  ],
  ['no credential read, token made, nothing to say where from', { before: NONE, token: 'made', platform: 'linux' }, 'ok', /^a principal from credentials the library did not show/, undefined],
  ['no library: nothing to ask', { before: { library: undefined, credential: { state: 'no library' }, cache: undefined }, token: 'not tried', platform: 'linux' }, 'skip', /no Kerberos library loaded/, undefined],
  ['empty cache, token failed', { before: NONE, token: 'failed', platform: 'linux' }, 'warn', /^no Kerberos ticket \(No credentials were supplied/, /^Run `kinit user@REALM`/],
  ['expired (MIT says so), token failed: kinit for the principal the cache names, never kinit -R', { before: EXPIRED_MIT, token: 'failed', platform: 'linux' }, 'warn', new RegExp(`^the ticket of alice@JAATO\\.TEST has expired \\(${ISO(NOW - 60)}\\) \\(The referenced credential has expired\\)$`), /^Run `kinit alice@JAATO\.TEST`/],
  ['expired (Heimdal says "none"), token failed, macOS', { before: EXPIRED_HEIMDAL, token: 'failed', platform: 'darwin' }, 'warn', /^the ticket of alice@JAATO\.TEST has expired/, /Ticket Viewer/],
  ['Windows, token made: the logon session', { before: { library: { ...MIT, family: 'sspi', api: 'SSPI' }, credential: { state: 'valid', principal: undefined, lifetimeSeconds: undefined }, cache: undefined }, token: 'made', platform: 'win32' }, 'ok', /Windows logon session's tickets, through SSPI/, undefined],
  ['Windows, token failed', { before: NONE, token: 'failed', platform: 'win32' }, 'warn', /Windows logon/, /domain account/],
  [
    'empty cache, a client keytab, token failed: the keytab is what to check',
    { before: NONE, token: 'failed', clientKeytab: '/tmp/none.keytab', platform: 'linux' },
    'warn',
    /^no Kerberos ticket \(No credentials were supplied.*\), and none from the client keytab \/tmp\/none\.keytab \(KRB5_CLIENT_KTNAME\)$/,
    /^check that the client keytab \/tmp\/none\.keytab \(KRB5_CLIENT_KTNAME\) exists and holds the user's key \(`klist -k \/tmp\/none\.keytab`\); or: Run `kinit user@REALM`/,
  ],
  ['no proxy, so no token, and no ticket', { before: NONE, token: 'not tried', platform: 'linux' }, 'warn', /no Kerberos ticket/, /kinit/],
];

test("doctor's ticket line: the library's view of the credential, never a failure; the token is the proof", () => {
  for (const [name, evidence, status, detail, remedy] of ROWS) {
    const check = credentialsCheck({ ...evidence, now: NOW });
    assert.equal(check.name, 'ticket', name);
    assert.equal(check.status, status, name);
    assert.match(check.detail, detail, name);
    if (remedy) assert.match(check.remedy ?? '', remedy, name);
    else assert.equal(check.remedy, undefined, name);
    // `kinit -R` only beside a renewable ticket's end, never as the remedy for a missing or expired one.
    if (/kinit -R/.test(check.detail)) assert.match(check.detail, /renewable until/, name);
    assert.doesNotMatch(check.remedy ?? '', /kinit -R/, name);
  }
});

test('where the credentials come from, as doctor --json names it', () => {
  const e = (before: CredentialState, more: Partial<CredentialsEvidence> = {}): CredentialsEvidence => ({ before, token: 'made', platform: 'linux', now: NOW, ...more });
  assert.equal(credentialsSource(e(VALID)), 'ticket cache');
  assert.equal(credentialsSource(e(VALID, { clientKeytab: '/k' })), 'ticket cache', 'a valid ticket was in the cache before');
  assert.equal(credentialsSource(e({ ...VALID, cache: { path: '/x', contents: undefined } }, { clientKeytab: '/k' })), 'client keytab');
  assert.equal(credentialsSource(e(NONE, { token: 'failed', clientKeytab: '/k' })), undefined);
  assert.equal(credentialsSource(e(NONE, { platform: 'win32' })), 'windows logon');
  assert.deepEqual([duration(42), duration(600), duration(35_940)], ['42 s', '10 min', '9 h 59 min']);
});

/** A FILE: cache as MIT's kinit writes it (format version 4), built field by field. */
function ccacheV4(principal: [string, string[]], tickets: Array<{ server: [string, string[]]; end: number; renewTill: number; flags: number }>): Buffer {
  const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 255]);
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  };
  const data = (b: Buffer | string): Buffer => Buffer.concat([u32(Buffer.byteLength(b)), Buffer.from(b)]);
  const name = ([realm, parts]: [string, string[]]): Buffer => Buffer.concat([u32(1), u32(parts.length), data(realm), ...parts.map((p) => data(p))]);
  const header = Buffer.concat([u16(1), u16(8), u32(0), u32(0)]); // tag 1, the KDC time offset
  const creds = tickets.map((t) =>
    Buffer.concat([name(principal), name(t.server), u16(18), data(Buffer.alloc(32)), u32(NOW - 100), u32(NOW - 100), u32(t.end), u32(t.renewTill), Buffer.from([0]), u32(t.flags), u32(0), u32(0), data(Buffer.alloc(300)), data('')]),
  );
  return Buffer.concat([Buffer.from([5, 4]), u16(header.length), header, name(principal), ...creds]);
}

test('FILE: cache: the default principal and the TGT, read from the file format, not from klist text', () => {
  const bytes = ccacheV4(['JAATO.TEST', ['alice']], [
    { server: ['JAATO.TEST', ['X-CACHECONF:', 'krb5_ccache_conf_data', 'fast_avail']], end: 0, renewTill: 0, flags: 0 },
    { server: ['JAATO.TEST', ['HTTP', 'localhost']], end: NOW + 100, renewTill: 0, flags: 0 },
    { server: ['JAATO.TEST', ['krbtgt', 'JAATO.TEST']], end: NOW + 36_000, renewTill: NOW + 86_400, flags: 0x00800000 | 0x00400000 },
  ]);
  const contents = parseFileCcache(bytes);
  assert.equal(contents?.principal, 'alice@JAATO.TEST');
  assert.deepEqual(contents?.tickets.map((t) => t.server), ['HTTP/localhost@JAATO.TEST', 'krbtgt/JAATO.TEST@JAATO.TEST'], 'configuration entries are not tickets');
  assert.deepEqual(tgtOf(contents!), { server: 'krbtgt/JAATO.TEST@JAATO.TEST', endtime: NOW + 36_000, renewTill: NOW + 86_400, renewable: true });
  // Cut short, or not a cache at all: undefined, never a throw.
  assert.equal(parseFileCcache(bytes.subarray(0, bytes.length - 10)), undefined);
  assert.equal(parseFileCcache(Buffer.from('not a ccache')), undefined);
  assert.equal(parseFileCcache(Buffer.alloc(0)), undefined);
  // Which file GSSAPI reads.
  assert.equal(fileCachePath({ KRB5CCNAME: 'FILE:/tmp/x' }, 1000), '/tmp/x');
  assert.equal(fileCachePath({ KRB5CCNAME: '/tmp/y' }, 1000), '/tmp/y');
  assert.equal(fileCachePath({}, 1000), '/tmp/krb5cc_1000');
  assert.equal(fileCachePath({ KRB5CCNAME: 'KEYRING:persistent:1000' }, 1000), undefined);
  assert.equal(fileCachePath({ KRB5CCNAME: 'KCM:' }, 1000), undefined);
});
