// NTLM against a real Active Directory: the AD lab's Squid offers Negotiate and NTLM, and checks NTLM
// with Samba's ntlm_auth through the DC's winbindd. curl proves the lab; our NtlmAuthenticator, driven
// leg by leg over one raw connection, proves the mechanism (GSSAPI's NTLMSSP, gss-ntlmssp) before the
// transport speaks it. Success is the domain user in Squid's access log.
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
 * On a Node whose bundled OpenSSL is not the system's (Node 22+ on Debian 12), gss-ntlmssp would run
 * on Node's copy and fail: the library refuses NTLM there (NtlmUnavailableError, tested below) and the
 * handshakes of this file cannot run. Said, not silent: each such test shows this reason as its skip.
 */
const clash = opensslClash();
const NO_NTLM_HERE = clash ? `NTLM through gss-ntlmssp is refused on this Node (OpenSSL ${clash.node}, the system's ${clash.system}): see the test of that refusal` : false;

const CLIENT = join(fileURLToPath(new URL('.', import.meta.url)), 'ntlm-client.js');
// gss-ntlmssp's plugin, as MIT's GSSAPI finds it (its mech.d entry); setup.sh installs the package.
const MECH_CONF = '/etc/gss/mech.d/mech.ntlmssp.conf';
let lab: AdLab;

before(async () => {
  if (!existsSync(MECH_CONF)) throw new Error(`GSSAPI's NTLM mechanism is missing (${MECH_CONF}): install the Debian package gss-ntlmssp (scripts/setup.sh does)`);
  lab = await startAdLab();
});
after(async () => lab?.stop());

async function ntlm(spec: { mode: 'curl' | 'raw' | 'choose'; user?: string }, env: Record<string, string> = {}): Promise<NtlmResult> {
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

test('AD: NtlmAuthenticator (explicit DOMAIN\\user) makes the three messages on one connection and Squid logs the domain user', { skip: NO_NTLM_HERE }, async () => {
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
});

test('AD: NtlmAuthenticator with the platform\'s credentials (gss-ntlmssp\'s NTLM_USER_FILE) passes as the domain user', { skip: NO_NTLM_HERE }, async () => {
  const file = join(lab.dir, 'ntlm-users');
  writeFileSync(file, `${lab.netbiosDomain}:${lab.users.user.name}:${lab.users.user.password}\n`, { mode: 0o600 });
  const from = lab.accessLog().length;
  const r = await ntlm({ mode: 'raw' }, { NTLM_USER_FILE: file });
  assert.deepEqual(r.statuses, [407, 407, 200, 200], JSON.stringify(r.error));
  assert.deepEqual(passedAs(from), [domainUser()]);
});

test('AD: a wrong password is refused by the DC (407 after the AUTHENTICATE message), nothing passes', { skip: NO_NTLM_HERE }, async () => {
  const from = lab.accessLog().length;
  const r = await ntlm({ mode: 'raw', user: domainUser() }, { JAATO_TEST_PASSWORD: 'not-the-password' });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.deepEqual(r.statuses.slice(0, 3), [407, 407, 407]);
  assert.deepEqual(passedAs(from), []);
});

test('AD: no NTLM credentials at all is NtlmNoCredentialsError, before any NTLM message is sent', { skip: NO_NTLM_HERE }, async () => {
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

test('AD: with no Kerberos ticket, startProxyAuthenticator falls to NTLM, says why in the debug log, and Squid logs the domain user', { skip: NO_NTLM_HERE }, async () => {
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

test('NTLM on a Node whose OpenSSL is not the system\'s: NtlmUnavailableError naming both versions, before any message', { skip: clash ? false : 'this Node\'s OpenSSL is the system\'s: NTLM runs (the tests above)' }, async () => {
  await assert.rejects(new NtlmAuthenticator('proxy.example.test').start(), (e: unknown) => {
    assert.ok(e instanceof NtlmUnavailableError, String(e));
    assert.equal(e.code, 'ERR_JAATO_NTLM_UNAVAILABLE');
    assert.ok(clash && e.message.includes(`OpenSSL ${clash.node}`) && e.message.includes(`OpenSSL ${clash.system}`), e.message);
    return true;
  });
});
