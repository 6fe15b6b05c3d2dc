// The ntlm_auth line protocol's pure parts, as tables: the answers a client reads (each measured from
// Samba 4.17's `ntlm_auth --helper-protocol=ntlmssp-client-1`), the redaction of its text, the user
// names it is given, NTLM_USER_FILE's first entry, and JAATO_NTLM_AUTH's lookup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionError } from '../../src/config/errors.js';
import { findNtlmAuth, winbindRunning } from '../../src/auth/ntlm-helper/find-ntlm-auth.js';
import { helperRequest, helperUser, parseHelperAnswer, redactHelperText } from '../../src/auth/ntlm-helper/helper-protocol.js';
import { firstNtlmUser } from '../../src/auth/ntlm-helper/ntlm-user-file.js';
import { ntlmMechanism } from '../../src/auth/ntlm.js';
import { opensslClash } from '../../src/auth/native/openssl-clash.js';

const NEGOTIATE = 'TlRMTVNTUAABAAAABYIIYgAAAAAoAAAAAAAAACgAAAAGAQAAAAAADw==';

test('parseHelperAnswer: each line ntlm_auth writes, by what it asks of the client', () => {
  const table: Array<[string, ReturnType<typeof parseHelperAnswer>]> = [
    [`YR ${NEGOTIATE}`, { kind: 'token', verb: 'YR', token: NEGOTIATE }],
    [`AF ${NEGOTIATE}`, { kind: 'token', verb: 'AF', token: NEGOTIATE }],
    [`KK ${NEGOTIATE}\r`, { kind: 'token', verb: 'KK', token: NEGOTIATE }],
    ['PW', { kind: 'password' }],
    ['OK', { kind: 'ok' }],
    ['NA NT_STATUS_INVALID_PARAMETER', { kind: 'failure', verb: 'NA', text: 'NT_STATUS_INVALID_PARAMETER' }],
    ['BH SPNEGO request invalid prefix', { kind: 'failure', verb: 'BH', text: 'SPNEGO request invalid prefix' }],
    ['BH', { kind: 'failure', verb: 'BH', text: '' }],
    ['YR', { kind: 'unknown', line: 'YR' }],
    ['AF not base64!', { kind: 'unknown', line: 'AF not base64!' }],
    ['PW something', { kind: 'unknown', line: 'PW something' }],
    ['YRX', { kind: 'unknown', line: 'YRX' }],
    ['', { kind: 'unknown', line: '' }],
    ['Error: Unknown request', { kind: 'unknown', line: 'Error: Unknown request' }],
  ];
  for (const [line, expected] of table) assert.deepEqual(parseHelperAnswer(line), expected, line);
});

test('helperRequest: YR, TT with the challenge, PW with the password in base64 (a newline in it cannot end the line early)', () => {
  assert.equal(helperRequest.negotiate(), 'YR\n');
  assert.equal(helperRequest.challenge('AAAA'), 'TT AAAA\n');
  assert.equal(helperRequest.password('p\nw:ü'), `PW ${Buffer.from('p\nw:ü').toString('base64')}\n`);
});

test('redactHelperText: the password (raw and base64) and NTLM messages out, control characters out, the end kept', () => {
  const pw = 'S3cret!pw';
  const out = redactHelperText(`bad ${pw} and ${Buffer.from(pw).toString('base64')} got ${NEGOTIATE}\n\u001b[31mred\nend`, [pw]);
  assert.equal(out, 'bad **** and **** got <base64> | [31mred | end');
  assert.ok(redactHelperText('x'.repeat(5000)).length <= 1001);
  assert.equal(redactHelperText('Can\'t load /etc/samba/smb.conf - run testparm to debug it'), 'Can\'t load /etc/samba/smb.conf - run testparm to debug it');
  // What ntlm_auth --debuglevel=10 dumps of an AUTHENTICATE message: hex runs, with and without separators.
  assert.equal(redactHelperText('NTProofStr: 0a1b2c3d4e5f60718293a4b5c6d7e8f9 [0000] 4E 54 4C 4D 53 53 50 00   03 00 00 00'), 'NTProofStr: <base64> [0000] <hex>');
  assert.equal(redactHelperText('pid 12345678 at 2026-12-07'), 'pid 12345678 at 2026-12-07');
});

test('helperUser: DOMAIN\\user split; a UPN with an empty domain (ntlm_auth: send none); a bare name keeps the helper\'s default', () => {
  assert.deepEqual(helperUser('ADJAATO\\bob'), { username: 'bob', domain: 'ADJAATO' });
  assert.deepEqual(helperUser('bob@ad.jaato.test'), { username: 'bob@ad.jaato.test', domain: '' });
  assert.deepEqual(helperUser('bob'), { username: 'bob', domain: undefined });
});

test('firstNtlmUser: gss-ntlmssp\'s DOMAIN:user:password lines, the first usable one', () => {
  const table: Array<[string, { username: string; password: string } | undefined]> = [
    ['ADJAATO:bob:B0b!pw\n', { username: 'ADJAATO\\bob', password: 'B0b!pw' }],
    ['# comment\n\nADJAATO:bob:pa:ss:word\r\nX:y:z\n', { username: 'ADJAATO\\bob', password: 'pa:ss:word' }],
    [':bob:pw', { username: 'bob', password: 'pw' }],
    ['nocolons\nD::pw\n', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of table) assert.deepEqual(firstNtlmUser(text), expected, JSON.stringify(text));
});

test('findNtlmAuth: JAATO_NTLM_AUTH (path or name on PATH; `off`), else ntlm_auth on PATH; a bad value names the variable; Windows none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jaato-ntlmauth-'));
  try {
    const helper = join(dir, 'ntlm_auth');
    writeFileSync(helper, '#!/bin/sh\n');
    chmodSync(helper, 0o755);
    const notExecutable = join(dir, 'plain');
    writeFileSync(notExecutable, '');
    assert.equal(findNtlmAuth({ PATH: dir }, 'linux'), helper);
    assert.equal(findNtlmAuth({ PATH: '/nonexistent' }, 'linux'), undefined);
    assert.equal(findNtlmAuth({ PATH: '/nonexistent', JAATO_NTLM_AUTH: helper }, 'linux'), helper);
    assert.equal(findNtlmAuth({ PATH: dir, JAATO_NTLM_AUTH: 'ntlm_auth' }, 'darwin'), helper);
    assert.equal(findNtlmAuth({ PATH: dir, JAATO_NTLM_AUTH: 'OFF' }, 'linux'), undefined);
    assert.equal(findNtlmAuth({ PATH: dir }, 'win32'), undefined);
    for (const bad of [notExecutable, dir, join(dir, 'missing'), 'no-such-helper']) {
      assert.throws(() => findNtlmAuth({ PATH: dir, JAATO_NTLM_AUTH: bad }, 'linux'), (e: unknown) => {
        assert.ok(e instanceof InvalidOptionError, String(e));
        assert.equal(e.option, 'JAATO_NTLM_AUTH');
        assert.match(e.message, /^JAATO_NTLM_AUTH: .*winbind/);
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ntlmMechanism (doctor\'s words): ntlm_auth out of process, SSPI on Windows, else GSSAPI in-process or why not; a bad JAATO_NTLM_AUTH said, not thrown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jaato-ntlmmech-'));
  try {
    const helper = join(dir, 'ntlm_auth');
    writeFileSync(helper, '#!/bin/sh\n');
    chmodSync(helper, 0o755);
    assert.equal(ntlmMechanism({ PATH: dir }, 'linux'), `Samba's ${helper}, out of process`);
    assert.equal(ntlmMechanism({ PATH: dir }, 'win32'), "SSPI's NTLM package");
    assert.match(ntlmMechanism({ PATH: dir, JAATO_NTLM_AUTH: 'no-such-helper' }, 'linux'), /^JAATO_NTLM_AUTH: "no-such-helper" is not an executable file/);
    const clash = opensslClash();
    const inProcess = ntlmMechanism({ PATH: dir, JAATO_NTLM_AUTH: 'off' }, 'linux');
    if (clash) assert.equal(inProcess, `none usable: no ntlm_auth (Debian/Ubuntu package winbind), and GSSAPI's NTLMSSP in-process is refused on this Node (OpenSSL ${clash.node}, the system's ${clash.system})`);
    else assert.equal(inProcess, "GSSAPI's NTLMSSP (gss-ntlmssp), in-process");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('winbindRunning: winbindd\'s socket in WINBINDD_SOCKET_DIR (libwbclient\'s override) or a built-in directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jaato-winbindd-'));
  try {
    assert.equal(winbindRunning({ WINBINDD_SOCKET_DIR: dir }, []), false);
    writeFileSync(join(dir, 'pipe'), '');
    assert.equal(winbindRunning({ WINBINDD_SOCKET_DIR: dir }, []), true);
    assert.equal(winbindRunning({}, [join(dir, 'pipe')]), true);
    assert.equal(winbindRunning({}, [join(dir, 'none')]), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
