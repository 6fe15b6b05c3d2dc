// NTLM through the transport, against a real Active Directory: the AD lab's Squid offers Negotiate and
// NTLM and checks NTLM with Samba's ntlm_auth through the DC's winbindd. Each client family (fetch over
// undici, the node agents, `serve` with curl through it, a child curl of the safety net) runs inside the
// lab's namespace (ad-client.ts) and must pass as the domain user in Squid's access log, each proxy
// connection with its own handshake. Our side's messages come from Samba's ntlm_auth client, outside
// Node's process, on every Node line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAdLab, type AdLab } from '../../lab/ad.js';
import type { AccessLogEntry } from '../../lab/squid.js';
import type { AdResult } from './ad-client.js';

const CLIENT = join(fileURLToPath(new URL('.', import.meta.url)), 'ad-client.js');
const NTLM_AUTH = '/usr/bin/ntlm_auth';
const REPEAT = 3;
let lab: AdLab;

before(async () => {
  if (!existsSync(NTLM_AUTH)) throw new Error(`Samba's ntlm_auth is missing (${NTLM_AUTH}): install the Debian package winbind (scripts/setup.sh does)`);
  lab = await startAdLab();
});
after(async () => lab?.stop());

const domainUser = (): string => `${lab.netbiosDomain}\\${lab.users.user.name}`;

/** The lab's proxy URL with `DOMAIN\user:password` in it (the backslash as %5C). */
function urlWith(user: string, password: string): string {
  const u = new URL(lab.proxyUrl);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** Each client family in a process of its own (`together`: all in one), its results in order. */
async function through(proxy: string, extra: { clients: string[] } & Record<string, unknown>, env: Record<string, string> = {}, together = false): Promise<{ results: AdResult[]; log: AccessLogEntry[]; stderr: string }> {
  const from = lab.accessLog().length;
  const results: AdResult[] = [];
  let stderr = '';
  for (const clients of together ? [extra.clients] : extra.clients.map((c) => [c])) {
    const r = await lab.node(CLIENT, [JSON.stringify({ proxy, repeat: REPEAT, ...extra, clients })], env);
    assert.equal(r.code, 0, r.stderr);
    results.push(...(JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as AdResult[]));
    stderr += r.stderr;
  }
  return { results, log: lab.accessLog().slice(from), stderr };
}

function statuses(results: AdResult[]): string[] {
  return results.map((r) => `${r.client} ${r.scheme} ${r.status ?? r.error?.code ?? '?'}`);
}

function expected(clients: readonly string[]): string[] {
  return clients.flatMap((c) => ['https', 'http'].flatMap((s) => Array<string>(REPEAT).fill(`${c} ${s} 200`)));
}

/**
 * What Squid logged, checked: every request and tunnel that passed passed as the domain user, for each
 * of `methods`; every connection that carried one had its own handshake (407s only before its first
 * success: no credentials, then the CHALLENGE) and none after it. Squid logs a tunnel once, when it
 * ends, however many requests it carried.
 */
function assertNtlm(log: AccessLogEntry[], methods: readonly string[] = ['CONNECT', 'GET']): void {
  const ok = log.filter((l) => l.status === 200);
  for (const method of methods) assert.ok(ok.some((l) => l.method === method), `no ${method} passed: ${JSON.stringify(log)}`);
  assert.deepEqual([...new Set(ok.map((l) => l.user))], [domainUser()], JSON.stringify(log));
  const byConnection = new Map<number, AccessLogEntry[]>();
  for (const l of log) byConnection.set(l.clientPort, [...(byConnection.get(l.clientPort) ?? []), l]);
  for (const [port, entries] of byConnection) {
    const first = entries.findIndex((l) => l.status === 200);
    if (first < 0) continue;
    assert.ok(first <= 2 && entries.slice(0, first).every((l) => l.status === 407), `connection ${port}: ${JSON.stringify(entries)}`);
    assert.ok(entries.slice(first).every((l) => l.status === 200), `connection ${port}: a 407 after the handshake: ${JSON.stringify(entries)}`);
  }
}

test('AD NTLM: fetch over CONNECT and forwarded http, DOMAIN\\user:password in the proxy URL, Kerberos off: the domain user in Squid\'s log', async () => {
  const { results, log, stderr } = await through(urlWith(domainUser(), lab.users.user.password), { clients: ['fetch'], kerberos: false }, { NODE_DEBUG: 'jaato-proxy' });
  assert.deepEqual(statuses(results), expected(['fetch']), JSON.stringify(results));
  assertNtlm(log);
  // The debug log says NTLM answered, and holds no NTLM message (base64 of `NTLMSSP\0`) and no password.
  assert.match(stderr, /answering its 407 with NTLM \(the proxy offers NTLM; Negotiate is off/);
  assert.doesNotMatch(stderr, /TlRMTVNTUA/);
  assert.ok(!stderr.includes(lab.users.user.password));
  // Forwarded http: two 407s per connection (its handshake), and a connection carries later requests without new legs.
  const http = log.filter((l) => l.method === 'GET');
  const connections = new Set(http.map((l) => l.clientPort)).size;
  assert.equal(http.filter((l) => l.status === 200).length, REPEAT, JSON.stringify(http));
  assert.equal(http.filter((l) => l.status === 407).length, 2 * connections, JSON.stringify(http));
  assert.ok(connections < REPEAT, `every request had its own connection: ${JSON.stringify(http)}`);
});

test('AD NTLM: JAATO_PROXY_AUTH=ntlm with Kerberos on and a ticket: NTLM, not Negotiate, for fetch, the node agents and serve', async () => {
  const { results, log } = await through(urlWith(domainUser(), lab.users.user.password), { clients: ['fetch', 'agents', 'serve'], proxyAuth: 'ntlm' });
  assert.deepEqual(statuses(results), expected(['fetch', 'agents', 'serve']), JSON.stringify(results));
  assertNtlm(log);
});

test('AD NTLM: the node agents and serve with DOMAIN\\user:password and Kerberos off', async () => {
  const { results, log } = await through(urlWith(domainUser(), lab.users.user.password), { clients: ['agents', 'serve'], kerberos: false });
  assert.deepEqual(statuses(results), expected(['agents', 'serve']), JSON.stringify(results));
  assertNtlm(log);
});

test('AD NTLM: the platform\'s credentials (NTLM_USER_FILE), JAATO_PROXY_AUTH=ntlm: the domain user', async () => {
  const file = join(lab.dir, 'ntlm-users-clients');
  writeFileSync(file, `${lab.netbiosDomain}:${lab.users.user.name}:${lab.users.user.password}\n`, { mode: 0o600 });
  const { results, log } = await through(lab.proxyUrl, { clients: ['fetch'], proxyAuth: 'ntlm' }, { NTLM_USER_FILE: file });
  assert.deepEqual(statuses(results), expected(['fetch']), JSON.stringify(results));
  assertNtlm(log);
});

test('AD NTLM: offered Negotiate and NTLM with a ticket and the default policy, Negotiate is chosen (the principal in the log)', async () => {
  const { results, log } = await through(urlWith(domainUser(), lab.users.user.password), { clients: ['fetch'], repeat: 1 });
  assert.deepEqual(statuses(results), ['fetch https 200', 'fetch http 200'], JSON.stringify(results));
  assert.deepEqual([...new Set(log.filter((l) => l.status === 200).map((l) => l.user))], [lab.users.user.principal]);
});

test('AD NTLM: a wrong password is a typed ERR_JAATO_PROXY_AUTH naming NTLM\'s refusal, never the password', async () => {
  const password = 'not-the-password-4711';
  const { results, log, stderr } = await through(urlWith(domainUser(), password), { clients: ['fetch', 'agents'], kerberos: false, repeat: 1 }, { NODE_DEBUG: 'jaato-proxy' });
  assert.equal(results.length, 4);
  for (const r of results) {
    assert.equal(r.error?.code, 'ERR_JAATO_PROXY_AUTH', JSON.stringify(r));
    assert.match(r.error?.message ?? '', /refused our NTLM credentials/);
    assert.doesNotMatch(JSON.stringify(r), new RegExp(password));
  }
  assert.doesNotMatch(stderr, new RegExp(password));
  assert.doesNotMatch(stderr, /TlRMTVNTUA/);
  assert.equal(log.filter((l) => l.status === 200).length, 0);
});

test('AD NTLM: a child curl of the safety net (install({ localProxy: true })) reaches Squid through the local proxy as the domain user', async () => {
  const { results, log } = await through(urlWith(domainUser(), lab.users.user.password), { clients: ['net'], kerberos: false, proxyAuth: 'ntlm' });
  assert.deepEqual(statuses(results), expected(['net']), JSON.stringify(results));
  assertNtlm(log);
});

test('AD NTLM: the node agents, then fetch, then serve in ONE process: every first handshake passes (the in-process mechanism failed here after TLS work)', async () => {
  const { results, log } = await through(urlWith(domainUser(), lab.users.user.password), { clients: ['agents', 'fetch', 'serve', 'agents'], kerberos: false }, {}, true);
  assert.deepEqual(statuses(results), expected(['agents', 'fetch', 'serve', 'agents']), JSON.stringify(results));
  assertNtlm(log);
});
