// Against a real Active Directory KDC (Samba AD DC) and a Squid on a service account's AES keytab, all
// inside a network namespace the AD lab creates: the library authenticates as the domain user, a user
// in 3,000 groups (a ~34 KB header) passes a Squid with a raised limit and gets the typed error from one
// without, and each way AD says no is named by its own error. The clients run in the namespace (lab.node).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAdLab, type AdLab } from '../../lab/ad.js';
import type { AdResult } from './ad-client.js';

const CLIENT = join(fileURLToPath(new URL('.', import.meta.url)), 'ad-client.js');
let lab: AdLab;

before(async () => {
  const started = await startAdLab({ squidHeaderLimit: 40 * 1024 });
  lab = started;
  // Measured: the DC from the cache, or provisioned (first run); the lab up.
  process.stdout.write(`# AD lab: DC ${started.timings.cached ? 'from the cache' : 'provisioned'} in ${started.timings.dcMs} ms, up in ${started.timings.startMs} ms\n`);
});
after(async () => lab?.stop());

async function through(proxy: string, env: Record<string, string> = {}, extra: Record<string, unknown> = {}): Promise<AdResult[]> {
  const r = await lab.node(CLIENT, [JSON.stringify({ proxy, ...extra })], env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as AdResult[];
}

function statuses(results: AdResult[]): string[] {
  return results.map((r) => `${r.client} ${r.scheme}: ${r.status ?? `${r.error?.name} ${r.error?.code}`}`);
}

const ALL_OK = ['fetch https: 200', 'fetch http: 200', 'agents https: 200', 'agents http: 200'];

test('AD: fetch and the node agents authenticate as the domain user through Squid (AES only end to end)', async () => {
  const before = lab.accessLog().length;
  assert.deepEqual(statuses(await through(lab.proxyUrl)), ALL_OK);
  const users = new Set(lab.accessLog().slice(before).filter((l) => l.status === 200).map((l) => l.user));
  assert.deepEqual([...users], [lab.users.user.principal]);
});

let n = 0;
/** A fresh ticket cache with a TGT for `user`: every scenario asks the KDC for its service ticket anew. */
async function freshTicket(user = lab.users.user): Promise<Record<string, string>> {
  const ccache = `FILE:${join(lab.dir, `cc-${++n}`)}`;
  await lab.kinit(user, ccache);
  return { KRB5CCNAME: ccache };
}

/** The Kerberos error each of the four requests ended in: the error itself, or the cause of the 407 it left unanswered. */
function kerberosCodes(results: AdResult[]): string[] {
  return results.map((r) => (r.error?.cause?.code ?? r.error?.code ?? `status ${r.status}`));
}

const BOB = 'CN=bob,CN=Users,DC=ad,DC=jaato,DC=test';
const SERVICE = 'CN=squidsvc,CN=Users,DC=ad,DC=jaato,DC=test';

test('AD: a disabled account (TGT still valid) is KerberosAccountDisabledError', async () => {
  const env = await freshTicket();
  await lab.sambaTool(['user', 'disable', 'bob']);
  try {
    assert.deepEqual(kerberosCodes(await through(lab.proxyUrl, env, { clients: ['fetch'] })), Array(2).fill('ERR_JAATO_KERBEROS_ACCOUNT_DISABLED'));
  } finally {
    await lab.sambaTool(['user', 'enable', 'bob']);
  }
});

test('AD: a locked-out account (TGT still valid) is KerberosAccountDisabledError, its message saying locked', async () => {
  const env = await freshTicket();
  // Locked out now, as after too many bad passwords: lockoutTime in 100-ns intervals since 1601, within the domain's lockout duration.
  const now = (BigInt(Date.now()) + 11_644_473_600_000n) * 10_000n;
  await lab.modify(`dn: ${BOB}\nchangetype: modify\nreplace: lockoutTime\nlockoutTime: ${now}\n`);
  try {
    const results = await through(lab.proxyUrl, env, { clients: ['fetch'] });
    assert.deepEqual(kerberosCodes(results), Array(2).fill('ERR_JAATO_KERBEROS_ACCOUNT_DISABLED'));
    assert.match(results[0]?.error?.message ?? '', /locked/);
  } finally {
    await lab.modify(`dn: ${BOB}\nchangetype: modify\nreplace: lockoutTime\nlockoutTime: 0\n`);
  }
});

test('AD: an expired account (TGT still valid) is KerberosAccountExpiredError', async () => {
  const env = await freshTicket();
  // accountExpires in the past (100-ns intervals since 1601; 1 is long gone).
  await lab.modify(`dn: ${BOB}\nchangetype: modify\nreplace: accountExpires\naccountExpires: 1\n`);
  try {
    assert.deepEqual(kerberosCodes(await through(lab.proxyUrl, env, { clients: ['fetch'] })), Array(2).fill('ERR_JAATO_KERBEROS_ACCOUNT_EXPIRED'));
  } finally {
    await lab.sambaTool(['user', 'setexpiry', 'bob', '--noexpiry']);
  }
});

test('AD: an expired password, met when GSSAPI gets the TGT itself from a client keytab, is KerberosPasswordExpiredError', async () => {
  // The TGS does not check the password (notes d3): the AS exchange does, as at a laptop's first request of the day.
  const keytab = join(lab.dir, 'bob-client.keytab');
  const input = ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96'].map((e) => `addent -password -p bob@${lab.realm} -k 1 -e ${e} -s ${lab.realm}bob\nB0b!Passw0rd\n`).join('') + `wkt ${keytab}\nquit\n`;
  writeFileSync(join(lab.dir, 'ktutil-input'), input);
  await lab.exec('bash', ['-c', `ktutil < ${join(lab.dir, 'ktutil-input')} > /dev/null`]);
  const env = { KRB5CCNAME: `FILE:${join(lab.dir, `cc-empty-${++n}`)}`, KRB5_CLIENT_KTNAME: keytab };
  // The keytab works while the password is valid.
  assert.deepEqual(statuses(await through(lab.proxyUrl, env, { clients: ['fetch'] })), ALL_OK.slice(0, 2));
  // The lab's users never expire (DONT_EXPIRE_PASSWORD, so the cached DC stays usable): bob's flag goes for this test.
  await lab.modify(`dn: ${BOB}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 512\n`);
  await lab.sambaTool(['user', 'setpassword', 'bob', '--newpassword=B0b!Passw0rd', '--must-change-at-next-login']);
  try {
    const fresh = { ...env, KRB5CCNAME: `FILE:${join(lab.dir, `cc-empty-${++n}`)}` };
    assert.deepEqual(kerberosCodes(await through(lab.proxyUrl, fresh, { clients: ['fetch'] })), Array(2).fill('ERR_JAATO_KERBEROS_PASSWORD_EXPIRED'));
  } finally {
    await lab.sambaTool(['user', 'setpassword', 'bob', '--newpassword=B0b!Passw0rd']);
    await lab.modify(`dn: ${BOB}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 66048\n`);
  }
});

test('AD: a service account with no encryption type this machine permits (RC4 only, client AES only) is KerberosEnctypeError', async () => {
  const env = await freshTicket();
  await lab.modify(`dn: ${SERVICE}\nchangetype: modify\nreplace: msDS-SupportedEncryptionTypes\nmsDS-SupportedEncryptionTypes: 4\n`);
  try {
    assert.deepEqual(kerberosCodes(await through(lab.proxyUrl, env, { clients: ['fetch'] })), Array(2).fill('ERR_JAATO_KERBEROS_NO_COMMON_ENCTYPE'));
  } finally {
    await lab.modify(`dn: ${SERVICE}\nchangetype: modify\nreplace: msDS-SupportedEncryptionTypes\nmsDS-SupportedEncryptionTypes: 24\n`);
  }
});

test("AD: the proxy's keytab out of date (the service account's password changed since) is refused by the proxy, and the message names the keytab's key version", async () => {
  const env = await freshTicket();
  const kvno = await lab.proxyKvno();
  await lab.sambaTool(['user', 'setpassword', 'squidsvc', '--newpassword=N3w!Squ1dPassw0rd']);
  assert.equal(await lab.proxyKvno(), kvno + 1);
  try {
    const results = await through(lab.proxyUrl, env, { clients: ['fetch'] });
    assert.deepEqual(kerberosCodes(results), Array(2).fill('ERR_JAATO_PROXY_AUTH'));
    for (const r of results) assert.match(r.error?.message ?? '', /keytab lacks the key the KDC used \(its key version \(kvno\)/);
  } finally {
    // The old password back: a new key version with the keytab's key, which accepts any version.
    await lab.sambaTool(['user', 'setpassword', 'squidsvc', '--newpassword=Squ1d!Passw0rd']);
  }
  assert.deepEqual(statuses(await through(lab.proxyUrl, await freshTicket(), { clients: ['fetch'] })), ALL_OK.slice(0, 2));
});

test('AD: the proxy reached by a name with no SPN is KerberosUnknownSpnError; by a CNAME it works', async () => {
  const env = await freshTicket();
  const noSpn = await through(`http://${lab.names.noSpn}:3128`, env, { clients: ['fetch'] });
  assert.deepEqual(kerberosCodes(noSpn), Array(2).fill('ERR_JAATO_KERBEROS_UNKNOWN_SPN'));
  assert.match(noSpn[0]?.error?.message ?? '', new RegExp(`HTTP@${lab.names.noSpn}`));
  assert.deepEqual(statuses(await through(`http://${lab.names.cname}:3128`, env, { clients: ['fetch'] })), ALL_OK.slice(0, 2));
});

test("AD: reverse-DNS canonicalization (MIT's default rdns) changing the SPN is KerberosUnknownSpnError naming both names and the krb5.conf fix", async () => {
  const env = { ...(await freshTicket()), KRB5_CONFIG: lab.krb5ConfRdns };
  const results = await through(lab.proxyUrl, env, { clients: ['fetch'] });
  assert.deepEqual(kerberosCodes(results), Array(2).fill('ERR_JAATO_KERBEROS_UNKNOWN_SPN'));
  // The PTR of 127.0.0.1 is localhost: MIT asked for HTTP/localhost, not the proxy's name.
  assert.match(results[0]?.error?.message ?? '', /HTTP\/localhost/);
  assert.match(results[0]?.error?.message ?? '', /rdns = false/);
});

test('AD: the DC clock 10 minutes ahead (TGT from before) is KerberosClockSkewError', async () => {
  const env = await freshTicket();
  await lab.restartDc('+10m');
  try {
    assert.deepEqual(kerberosCodes(await through(lab.proxyUrl, env, { clients: ['fetch'] })), Array(2).fill('ERR_JAATO_KERBEROS_CLOCK_SKEW'));
  } finally {
    await lab.restartDc();
  }
});

test('AD: a user in 3,000 groups (a ~34 KB header) passes Squid with a raised limit, and gets ProxyHeaderTooLargeError from a Squid whose limit is lower', async () => {
  const env = await freshTicket(lab.users.big);
  const before = lab.accessLog().length;
  assert.deepEqual(statuses(await through(lab.proxyUrl, env)), ALL_OK);
  const users = new Set(lab.accessLog().slice(before).filter((l) => l.status === 200).map((l) => l.user));
  assert.deepEqual([...users], [lab.users.big.principal]);
  await lab.setSquidHeaderLimit(32 * 1024);
  try {
    const refused = await through(lab.proxyUrl, env);
    assert.deepEqual(kerberosCodes(refused), Array(4).fill('ERR_JAATO_PROXY_HEADER_TOO_LARGE'));
    for (const r of refused) {
      const bytes = Number(/it carried a (\d+)-byte/.exec(r.error?.message ?? '')?.[1]);
      assert.ok(bytes > 32 * 1024 && bytes < 40 * 1024, `${r.client} ${r.scheme}: ${r.error?.message}`);
    }
  } finally {
    await lab.setSquidHeaderLimit(40 * 1024);
  }
});

const CLI = join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist', 'cli', 'main.js');

test('AD: doctor as the user in 3,000 groups warns of the 34 KB header, and fails proxy auth with the typed error where Squid refuses it', async () => {
  const env = { ...(await freshTicket(lab.users.big)), HTTPS_PROXY: lab.proxyUrl, HTTP_PROXY: lab.proxyUrl, JAATO_KERBEROS_PROXY: 'true' };
  const doctor = async (): Promise<{ checks: Array<{ name: string; status: string; detail: string; remedy: string | null }> }> => {
    const r = await lab.node(CLI, ['doctor', '--json'], env);
    return JSON.parse(r.stdout) as { checks: Array<{ name: string; status: string; detail: string; remedy: string | null }> };
  };
  const line = (report: Awaited<ReturnType<typeof doctor>>, name: string) => {
    const found = report.checks.find((c) => c.name === name);
    assert.ok(found, `no ${name} line in ${JSON.stringify(report.checks, null, 1)}`);
    return found;
  };
  const passing = await doctor();
  const size = line(passing, 'token size');
  assert.equal(size.status, 'warn');
  assert.match(size.detail, /^a 3\d{4}-byte Proxy-Authorization header, over 16 KB/);
  assert.match(size.remedy ?? '', /request_header_max_size.*LimitRequestFieldSize/);
  // The stand-in target (example.com) is out of reach in the namespace: the token got past the proxy all the same.
  assert.equal(line(passing, 'proxy auth').status, 'ok', JSON.stringify(passing.checks, null, 1));
  await lab.setSquidHeaderLimit(32 * 1024);
  try {
    const refused = line(await doctor(), 'proxy auth');
    assert.equal(refused.status, 'fail');
    assert.doesNotMatch(refused.detail, /accepted/);
    assert.match(refused.detail, /431 Request Header Fields Too Large.*\[ERR_JAATO_PROXY_HEADER_TOO_LARGE\]$/);
  } finally {
    await lab.setSquidHeaderLimit(40 * 1024);
  }
});
