import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKlist, type KlistListing } from '../../src/diagnostics/klist-output.js';

interface Row {
  /** Where the text was recorded. */
  source: string;
  text: string;
  expected: KlistListing | undefined;
}

const ROWS: readonly Row[] = [
  {
    source: 'MIT krb5 1.20.1 klist (Debian 12), LC_ALL=C, after kinit + kvno in the lab',
    text:
      'Ticket cache: FILE:/tmp/jaato-lab-hlxXZW/ccache\nDefault principal: alice@JAATO.TEST\n\n' +
      'Valid starting     Expires            Service principal\n' +
      '12/02/26 11:46:42  12/02/26 21:46:42  krbtgt/JAATO.TEST@JAATO.TEST\n' +
      '12/02/26 11:46:42  12/02/26 21:46:42  HTTP/localhost@JAATO.TEST\n',
    expected: { format: 'mit', cache: 'FILE:/tmp/jaato-lab-hlxXZW/ccache', principal: 'alice@JAATO.TEST', tgt: { expires: '12/02/26 21:46:42', expired: false } },
  },
  {
    source: 'MIT krb5 1.20.1 klist, a 2 s ticket after 3 s (klist -s exits 1; MIT does not mark it)',
    text:
      'Ticket cache: FILE:/tmp/jaato-lab-hlxXZW/short\nDefault principal: alice@JAATO.TEST\n\n' +
      'Valid starting     Expires            Service principal\n' +
      '12/02/26 11:46:42  12/02/26 11:46:44  krbtgt/JAATO.TEST@JAATO.TEST\n',
    expected: { format: 'mit', cache: 'FILE:/tmp/jaato-lab-hlxXZW/short', principal: 'alice@JAATO.TEST', tgt: { expires: '12/02/26 11:46:44', expired: false } },
  },
  {
    source: 'MIT klist.c show_credential(): a renewable TGT (indented "renew until" line), a cross-realm TGT listed first',
    text:
      'Ticket cache: KEYRING:persistent:1000:1000\nDefault principal: bob@CORP.EXAMPLE\n\n' +
      'Valid starting       Expires              Service principal\n' +
      '2026-12-02 08:00:01  2026-12-02 18:00:01  krbtgt/EU.CORP.EXAMPLE@CORP.EXAMPLE\n' +
      '2026-12-02 08:00:00  2026-12-02 18:00:00  krbtgt/CORP.EXAMPLE@CORP.EXAMPLE\n' +
      '\trenew until 2026-12-09 08:00:00\n',
    expected: { format: 'mit', cache: 'KEYRING:persistent:1000:1000', principal: 'bob@CORP.EXAMPLE', tgt: { expires: '2026-12-02 18:00:00', expired: false } },
  },
  {
    source: 'Heimdal 7.8 klist (Debian 12 heimdal-clients), LC_ALL=C, on the lab\'s cache after kinit + kvno',
    text:
      'Credentials cache: FILE:/tmp/jaato-lab-3DJUBY/ccache\n        Principal: alice@JAATO.TEST\n\n' +
      '  Issued                Expires               Principal\n' +
      'Dec  2 11:46:54 2026  Dec  2 21:46:54 2026  krbtgt/JAATO.TEST@JAATO.TEST\n' +
      'Dec  2 11:46:54 2026  Dec  2 21:46:54 2026  HTTP/localhost@JAATO.TEST\n',
    expected: { format: 'heimdal', cache: 'FILE:/tmp/jaato-lab-3DJUBY/ccache', principal: 'alice@JAATO.TEST', tgt: { expires: 'Dec  2 21:46:54 2026', expired: false } },
  },
  {
    source: 'Heimdal 7.8 klist, a 2 s ticket after 3 s (the column narrows to ">>>Expired<<<")',
    text:
      'Credentials cache: FILE:/tmp/jaato-lab-3DJUBY/short\n        Principal: alice@JAATO.TEST\n\n' +
      '  Issued                Expires        Principal\n' +
      'Dec  2 11:46:54 2026  >>>Expired<<<  krbtgt/JAATO.TEST@JAATO.TEST\n',
    expected: { format: 'heimdal', cache: 'FILE:/tmp/jaato-lab-3DJUBY/short', principal: 'alice@JAATO.TEST', tgt: { expires: '>>>Expired<<<', expired: true } },
  },
  {
    source: "macOS klist (Heimdal kuser/klist.c print_tickets, API: cache), the user's TGT beside an expired service ticket",
    text:
      'Credentials cache: API:6B3C1A52-1F0E-4C1B-9A3D-2F1E0C9B8A77\n        Principal: alice@CORP.EXAMPLE\n\n' +
      '  Issued                Expires               Principal\n' +
      'Nov 30 09:12:03 2026  >>>Expired<<<         HTTP/proxy.corp.example@CORP.EXAMPLE\n' +
      'Dec 12 08:59:40 2026  Dec 12 18:59:40 2026  krbtgt/CORP.EXAMPLE@CORP.EXAMPLE\n',
    expected: { format: 'heimdal', cache: 'API:6B3C1A52-1F0E-4C1B-9A3D-2F1E0C9B8A77', principal: 'alice@CORP.EXAMPLE', tgt: { expires: 'Dec 12 18:59:40 2026', expired: false } },
  },
  {
    source: 'Windows klist.exe (Microsoft docs, "klist"): another program, not parsed',
    text: 'Current LogonId is 0:0x3e7\n\nCached Tickets: (1)\n\n#0>\tClient: alice @ CORP.EXAMPLE\n\tServer: krbtgt/CORP.EXAMPLE @ CORP.EXAMPLE\n\tEnd Time: 12/2/2026 18:00:00 (local)\n',
    expected: undefined,
  },
  { source: 'klist printed nothing (no cache: the complaint goes to stderr)', text: '', expected: undefined },
  {
    source: 'a cache with a principal and no TGT (MIT, after kdestroy of the TGT only)',
    text: 'Ticket cache: FILE:/tmp/krb5cc_1000\nDefault principal: alice@JAATO.TEST\n\nValid starting     Expires            Service principal\n',
    expected: { format: 'mit', cache: 'FILE:/tmp/krb5cc_1000', principal: 'alice@JAATO.TEST' },
  },
];

test('klist listings, MIT and Heimdal (macOS included), parse to the principal, cache and TGT expiry', () => {
  for (const row of ROWS) assert.deepEqual(parseKlist(row.text), row.expected, row.source);
});
