// NTLM against a real Active Directory: the AD lab's Squid offers Negotiate and NTLM, and checks NTLM
// with Samba's ntlm_auth through the DC's winbindd. curl proves the lab; our NtlmAuthenticator, driven
// leg by leg over one raw connection, proves the mechanism before the transport speaks it: Samba's
// ntlm_auth client in a process of its own (every Node line), and GSSAPI's NTLMSSP (gss-ntlmssp)
// in-process as the fallback (JAATO_NTLM_AUTH=off). Success is the domain user in Squid's access log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAdLab, type AdLab } from '../../lab/ad.js';
import { opensslClash } from '../../src/auth/native/openssl-clash.js';
import { NtlmAuthenticator } from '../../src/auth/ntlm.js';
import { NtlmUnavailableError } from '../../src/auth/ntlm-errors.js';
import type { NtlmResult } from './ntlm-client.js';

/**
 * gss-ntlmssp in-process runs on Node's own OpenSSL: on a Node whose bundled OpenSSL is not the
 * system's (Node 22+ on Debian 12) it fails, and the library refuses it (tested below). Only the
 * fallback's own test depends on it; everything else goes through ntlm_auth on every Node.
 */
const clash = opensslClash();
const NO_GSSAPI_NTLM_HERE = clash ? `gss-ntlmssp in-process is refused on this Node (OpenSSL ${clash.node}, the system's ${clash.system}): see the test of that refusal` : false;
const GSSAPI = { JAATO_NTLM_AUTH: 'off' };

const CLIENT = join(fileURLToPath(new URL('.', import.meta.url)), 'ntlm-client.js');
// gss-ntlmssp's plugin, as MIT's GSSAPI finds it (its mech.d entry); setup.sh installs the package.
const MECH_CONF = '/etc/gss/mech.d/mech.ntlmssp.conf';
let lab: AdLab;

before(async () => {
  if (!existsSync(MECH_CONF)) throw new Error(`GSSAPI's NTLM mechanism is missing (${MECH_CONF}): install the Debian package gss-ntlmssp (scripts/setup.sh does)`);
  lab = await startAdLab();
});
after(async () => lab?.stop());

async function ntlm(spec: { mode: 'curl' | 'raw' | 'choose' | 'dispose'; user?: string }, env: Record<string, string> = {}): Promise<NtlmResult> {
  const r = await lab.node(CLIENT, [JSON.stringify({ proxy: lab.proxyUrl, ...spec })], env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as NtlmResult;
}

/** The users Squid logged for what passed since `from`. */
function passedAs(from: number): string[] {
  return [...new Set(lab.accessLog().slice(from).filter((l) => l.status === 200).map((l) => l.user))];
}

const domainUser = (): string => `${lab.netbiosDomain}\\${lab.users.user.name}`;

test('AD lab: Squid offers Negotiate and NTLM, and curl --proxy-ntlm passes as the domain user', async () => {
  const from = lab.accessLog().length;
  const r = await ntlm({ mode: 'curl', user: domainUser() }, { JAATO_TEST_PASSWORD: lab.users.user.password });
  assert.deepEqual(r.statuses, [200], JSON.stringify(r.error));
  assert.deepEqual(passedAs(from), [domainUser()]);
});

test('AD: NtlmAuthenticator (explicit DOMAIN\\user) makes the three messages on one connection and Squid logs the domain user', async () => {
  const from = lab.accessLog().length;
  const r = await ntlm({ mode: 'raw', user: domainUser() }, { JAATO_TEST_PASSWORD: lab.users.user.password });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.deepEqual(r.offered, ['negotiate', 'ntlm']);
  // 407 (no credentials), 407 with the CHALLENGE, 200 for the AUTHENTICATE message, the origin's 200.
  assert.deepEqual(r.statuses, [407, 407, 200, 200]);
  assert.deepEqual(r.legs, ['start', 'step']);
  assert.equal(r.oneConnection, true);
  const entries = lab.accessLog().slice(from);
  assert.deepEqual(passedAs(from), [domainUser()]);
  // All on one client connection (Squid logs its port): NTLM authenticates the connection.
  assert.equal(new Set(entries.filter((l) => l.method === 'CONNECT').map((l) => l.clientPort)).size, 1);
  // Made by Samba's ntlm_auth, outside Node's process, and the helper is gone with the handshake.
  assert.ok(r.debug?.some((l) => /^NTLM: NEGOTIATE message for proxy\.ad\.jaato\.test \(explicit credentials, \/usr\/bin\/ntlm_auth\)$/.test(l)), JSON.stringify(r.debug));
  assert.equal(r.helpersLeft, 0);
});

test('AD: disposed between the CHALLENGE and the AUTHENTICATE message, the ntlm_auth helper is gone; nothing passes', async () => {
  const from = lab.accessLog().length;
  const r = await ntlm({ mode: 'dispose', user: domainUser() }, { JAATO_TEST_PASSWORD: lab.users.user.password });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.deepEqual(r.statuses, [407, 407]);
  assert.deepEqual(r.legs, ['start']);
  assert.equal(r.helpersLeft, 0);
  assert.deepEqual(passedAs(from), []);
});

test('AD: GSSAPI\'s NTLMSSP in-process (JAATO_NTLM_AUTH=off, the fallback where no ntlm_auth is found) passes as the domain user', { skip: NO_GSSAPI_NTLM_HERE }, async () => {
  const from = lab.accessLog().length;
  const r = await ntlm({ mode: 'raw', user: domainUser() }, { JAATO_TEST_PASSWORD: lab.users.user.password, ...GSSAPI });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.deepEqual(r.statuses, [407, 407, 200, 200]);
  assert.ok(r.debug?.some((l) => /^NTLM: NEGOTIATE message for .* \(explicit credentials, libgssapi_krb5/.test(l)), JSON.stringify(r.debug));
  assert.deepEqual(passedAs(from), [domainUser()]);
});

test('AD: NtlmAuthenticator with the platform\'s credentials (NTLM_USER_FILE, its first line) passes as the domain user', async () => {
  const file = join(lab.dir, 'ntlm-users');
  writeFileSync(file, `${lab.netbiosDomain}:${lab.users.user.name}:${lab.users.user.password}\n`, { mode: 0o600 });
  const from = lab.accessLog().length;
  const r = await ntlm({ mode: 'raw' }, { NTLM_USER_FILE: file });
  assert.deepEqual(r.statuses, [407, 407, 200, 200], JSON.stringify(r.error));
  assert.deepEqual(passedAs(from), [domainUser()]);
  assert.equal(r.helpersLeft, 0);
});

test('AD: a wrong password is refused by the DC (407 after the AUTHENTICATE message), nothing passes', async () => {
  const from = lab.accessLog().length;
  const r = await ntlm({ mode: 'raw', user: domainUser() }, { JAATO_TEST_PASSWORD: 'not-the-password' });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.deepEqual(r.statuses.slice(0, 3), [407, 407, 407]);
  assert.deepEqual(passedAs(from), []);
  assert.equal(r.helpersLeft, 0);
});

test('AD: no NTLM credentials at all is NtlmNoCredentialsError, before any NTLM message is sent', async () => {
  const r = await ntlm({ mode: 'raw' }, { NTLM_USER_FILE: join(lab.dir, 'no-such-file') });
  assert.equal(r.error?.code, 'ERR_JAATO_NTLM_NO_CREDENTIALS', JSON.stringify(r));
  assert.match(r.error?.message ?? '', /NTLM_USER_FILE/);
});

test('AD: offered Negotiate and NTLM, startProxyAuthenticator picks Negotiate where a ticket makes a token (the user\'s principal in the log)', async () => {
  const from = lab.accessLog().length;
  const r = await ntlm({ mode: 'choose' });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.scheme, 'Negotiate');
  assert.deepEqual(r.statuses, [407, 200, 200]);
  assert.deepEqual(passedAs(from), [lab.users.user.principal]);
});

test('AD: with no Kerberos ticket, startProxyAuthenticator falls to NTLM, says why in the debug log, and Squid logs the domain user', async () => {
  const file = join(lab.dir, 'ntlm-users-fallback');
  writeFileSync(file, `${lab.netbiosDomain}:${lab.users.user.name}:${lab.users.user.password}\n`, { mode: 0o600 });
  const from = lab.accessLog().length;
  const r = await ntlm({ mode: 'choose' }, { NTLM_USER_FILE: file, KRB5CCNAME: `FILE:${join(lab.dir, 'no-ticket-here')}` });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.scheme, 'NTLM', JSON.stringify(r));
  assert.deepEqual(r.statuses, [407, 407, 200, 200]);
  assert.ok(r.debug?.some((l) => /Negotiate could not make a token \(ERR_JAATO_KERBEROS_NO_CREDENTIALS\): choosing again without it/.test(l)), JSON.stringify(r.debug));
  assert.ok(r.debug?.some((l) => /proxy auth for proxy\.ad\.jaato\.test: ntlm \(the proxy offers NTLM; Negotiate could not make a token \(ERR_JAATO_KERBEROS_NO_CREDENTIALS\)/.test(l)), JSON.stringify(r.debug));
  assert.deepEqual(passedAs(from), [domainUser()]);
});

test('GSSAPI\'s NTLM (JAATO_NTLM_AUTH=off) on a Node whose OpenSSL is not the system\'s: NtlmUnavailableError naming both versions and ntlm_auth, before any message', { skip: clash ? false : 'this Node\'s OpenSSL is the system\'s: gss-ntlmssp runs (the fallback\'s test above)' }, async () => {
  await assert.rejects(new NtlmAuthenticator('proxy.example.test', { env: { ...process.env, ...GSSAPI } }).start(), (e: unknown) => {
    assert.ok(e instanceof NtlmUnavailableError, String(e));
    assert.equal(e.code, 'ERR_JAATO_NTLM_UNAVAILABLE');
    assert.ok(clash && e.message.includes(`OpenSSL ${clash.node}`) && e.message.includes(`OpenSSL ${clash.system}`), e.message);
    assert.match(e.message, /ntlm_auth \(Debian\/Ubuntu package winbind\)/);
    return true;
  });
});
