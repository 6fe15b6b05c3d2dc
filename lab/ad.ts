import { accessSync, chmodSync, constants, cpSync, lstatSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkLabPrerequisites, LabSetupError } from './prerequisites.js';
import { isAlive, run, startService } from './processes.js';
import { readAccessLog, type AccessLogEntry } from './squid.js';

/**
 * An Active Directory lab: a Samba AD domain controller (Samba's KDC is AD's code path: PAC, account
 * state, msDS-SupportedEncryptionTypes) and a Squid with `negotiate_kerberos_auth` on a service
 * account's AES keytab, both inside a network namespace this lab creates, so the DC's fixed ports
 * (53, 88, 389, 135) touch nothing else and its address (10.53.0.1) exists nowhere but there. Names
 * come from Samba's DNS (the namespace's resolv.conf, `/etc/netns/<ns>/`, seen only inside it). A
 * client runs inside the namespace too: `lab.node(script)` starts Node there. Linux and root only.
 *
 * Provisioning takes ~25 s (8 s the domain, 11 s the 3,000 groups of the big user); the provisioned
 * DC is cached under `.cache/ad-dc-<key>/` and copied per lab (it holds only this throwaway domain's
 * data, and only smb.conf names its directory), so a lab starts in a few seconds once cached.
 */
export interface AdLab {
  dir: string;
  /** The network namespace everything runs in. */
  netns: string;
  realm: string;
  /** The domain's NetBIOS name (`ADJAATO`): NTLM's `DOMAIN\\user`. */
  netbiosDomain: string;
  /** The domain controller's address, inside the namespace. */
  dcAddress: string;
  /** The proxy's name (SPN `HTTP/<name>`), an A record for 127.0.0.1 in Samba's DNS. */
  proxyHost: string;
  /** `http://<proxyHost>:3128`. */
  proxyUrl: string;
  /** A CNAME to the proxy (MIT canonicalizes it to the proxy's SPN) and another A record with no SPN. */
  names: { cname: string; noSpn: string };
  /** The domain's users, by role: `user` in no extra group, `big` in BIG_USER_GROUPS groups. */
  users: { user: AdUser; big: AdUser };
  /** The service account that holds `HTTP/<proxyHost>`. */
  serviceAccount: string;
  /** The client's krb5.conf (AES only, `rdns = false`), and one with MIT's default `rdns` (true). */
  krb5Conf: string;
  krb5ConfRdns: string;
  /** KRB5_CONFIG and KRB5CCNAME for a client. */
  env: Record<string, string>;
  /** `kinit` as `user` inside the namespace into `ccache` (default the lab's). */
  kinit(user: AdUser, ccache?: string): Promise<void>;
  /** `samba-tool <args>` against the running DC's directory. */
  sambaTool(args: readonly string[]): Promise<string>;
  /** Applies an LDIF change to the running DC's directory. */
  modify(ldif: string): Promise<void>;
  /** Any command inside the namespace, to completion. */
  exec(command: string, args: readonly string[], env?: Record<string, string>): Promise<string>;
  /**
   * Runs `node <script> <args>` inside the namespace with the lab's client environment plus `env`,
   * and resolves with its exit code and output (it never rejects for a non-zero exit).
   */
  node(script: string, args: readonly string[], env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Writes Squid's keytab again for the service account's current key version (`kvno`), or an older one. */
  writeProxyKeytab(kvno?: number): Promise<number>;
  /** The service account's current key version. */
  proxyKvno(): Promise<number>;
  /** `squid -k reconfigure`: the helper reads its keytab at start. */
  reconfigureSquid(): Promise<void>;
  /** Squid's `request_header_max_size` in bytes from now on (undefined: Squid's default, 64 KB). */
  setSquidHeaderLimit(bytes: number | undefined): Promise<void>;
  /** Restarts the DC, with its clock shifted (`faketime` offset, e.g. `+10m`) or not. */
  restartDc(clockOffset?: string): Promise<void>;
  /** Squid's access log so far. */
  accessLog(): AccessLogEntry[];
  stop(): Promise<void>;
}

export interface AdUser {
  name: string;
  principal: string;
  password: string;
}

const REALM = 'AD.JAATO.TEST';
const DOMAIN = 'ad.jaato.test';
const NETBIOS_DOMAIN = 'ADJAATO';
const BASE_DN = 'DC=ad,DC=jaato,DC=test';
const DC_ADDRESS = '10.53.0.1';
const PROXY_PORT = 3128;
// Throwaway secrets of a domain that exists only inside a namespace of one lab run.
const ADMIN_PASSWORD = 'Adm1n!Passw0rd';
const SERVICE = { name: 'squidsvc', password: 'Squ1d!Passw0rd' };
const USER = { name: 'bob', password: 'B0b!Passw0rd' };
const BIG = { name: 'carol', password: 'C4rol!Passw0rd' };
/** The big user's groups: a ~34 KB Negotiate header (measured against Samba 4.17, notes c4). */
export const BIG_USER_GROUPS = 3000;
/** Bump when what the cached DC holds changes. */
const TEMPLATE_VERSION = 1;

/** Programs the AD lab runs and the Debian packages that bring them (setup.sh installs them). */
const AD_REQUIRED: ReadonlyArray<{ path: string; pkg: string }> = [
  { path: '/usr/sbin/samba', pkg: 'samba-ad-dc' },
  { path: '/usr/bin/samba-tool', pkg: 'samba-ad-provision' },
  { path: '/usr/bin/ldbadd', pkg: 'ldb-tools' },
  { path: '/usr/bin/faketime', pkg: 'faketime' },
  { path: '/usr/bin/kinit', pkg: 'krb5-user' },
  { path: '/usr/bin/ktutil', pkg: 'krb5-user' },
  { path: '/usr/sbin/squid', pkg: 'squid' },
  { path: '/usr/lib/squid/negotiate_kerberos_auth', pkg: 'squid' },
  { path: '/usr/bin/ip', pkg: 'iproute2' },
  // Squid's NTLM: Samba's ntlm_auth asks the DC's winbindd.
  { path: '/usr/bin/ntlm_auth', pkg: 'winbind' },
  { path: '/usr/sbin/winbindd', pkg: 'winbind' },
  { path: '/usr/bin/unshare', pkg: 'util-linux' },
];

/** A command inside the namespace. */
function inNs(ns: string, command: string, args: readonly string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, command, ...args]];
}

function checkAdPrerequisites(): void {
  checkLabPrerequisites(AD_REQUIRED);
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new LabSetupError('The AD lab creates a network namespace: it runs on Linux as root (CI and the dev container do)');
  }
  try {
    accessSync('/etc/netns', constants.W_OK);
  } catch {
    mkdirSync('/etc/netns', { recursive: true });
  }
}

/** The repository's `.cache/` (beside package.json, above dist/ or .test-build/), where the provisioned DC is kept. */
function cacheRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dir !== dirname(dir)) dir = dirname(dir);
  return join(dir, '.cache');
}

function smbConf(dcDir: string): string {
  // Only what the lab uses: LDAP (samba-tool, ldbadd), the KDC, DNS, RPC (samba-tool dns) and winbindd
  // (Squid's NTLM helper, Samba's ntlm_auth, checks NTLM answers through it against the DC's own accounts).
  return `[global]
	netbios name = DC1
	realm = ${REALM}
	workgroup = ${NETBIOS_DOMAIN}
	server role = active directory domain controller
	interfaces = lo
	bind interfaces only = yes
	server services = ldap kdc dns rpc winbindd
	dcerpc endpoint servers = -winreg -srvsvc
	idmap_ldb:use rfc2307 = yes
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
	log file = ${dcDir}/log.samba
	logging = file
	binddns dir = ${dcDir}/bind-dns
	cache directory = ${dcDir}/cache
	lock directory = ${dcDir}
	private dir = ${dcDir}/private
	state directory = ${dcDir}/state
	pid directory = ${dcDir}/run
	winbindd socket directory = ${dcDir}/run/winbindd
	ntp signd socket directory = ${dcDir}/run/ntp_signd
	ncalrpc dir = ${dcDir}/run/ncalrpc

[sysvol]
	path = ${dcDir}/state/sysvol
	read only = No
`;
}

function netnsFiles(ns: string): void {
  const dir = `/etc/netns/${ns}`;
  mkdirSync(dir, { recursive: true });
  // The local host name: negotiate_kerberos_auth resolves it even with -s GSS_C_NO_NAME, and Squid
  // aborts ("Local hostname could not be determined") otherwise.
  writeFileSync(join(dir, 'hosts'), `127.0.0.1 localhost\n${DC_ADDRESS} dc1.${DOMAIN} dc1\n127.0.1.1 ${hostname()}\n`);
  writeFileSync(join(dir, 'resolv.conf'), `nameserver ${DC_ADDRESS}\n`);
}

async function createNetns(ns: string): Promise<void> {
  netnsFiles(ns);
  await run('ip', ['netns', 'add', ns]);
  await run(...inNs(ns, 'ip', ['link', 'set', 'lo', 'up']));
  // The DC's own address, on the namespace's loopback (no dummy link needed).
  await run(...inNs(ns, 'ip', ['addr', 'add', `${DC_ADDRESS}/32`, 'dev', 'lo']));
}

async function deleteNetns(ns: string): Promise<void> {
  // Whatever still runs in it (Squid's pinger, helpers) goes first.
  const pids = await run('ip', ['netns', 'pids', ns]).catch(() => '');
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone
    }
  }
  await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
  rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
}

/** Polls until `host:port` accepts a TCP connection inside the namespace. */
async function waitInNs(ns: string, host: string, port: number, what: string, child: ChildProcess, logs: readonly string[], ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await run(...inNs(ns, 'bash', ['-c', `exec 3<>/dev/tcp/${host}/${port}`])).then(() => true, () => false);
    if (open) return;
    if (child.exitCode !== null || Date.now() > deadline) {
      const tail = logs.map((f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-15).join('\n') : '')).join('\n');
      throw new LabSetupError(`${what} ${child.exitCode !== null ? `exited (code ${child.exitCode})` : `did not open ${host}:${port} within ${ms} ms`}\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** faketime's shared memory, named after the process it ran (a killed one cannot remove it). */
function removeFaketimeShm(child: ChildProcess | undefined): void {
  if (child?.pid === undefined) return;
  for (const f of [`faketime_shm_${child.pid}`, `sem.faketime_sem_${child.pid}`]) rmSync(join('/dev/shm', f), { force: true });
}

/**
 * libwbclient (Samba's ntlm_auth) finds winbindd only at its built-in socket directory, never one from
 * smb.conf: Squid (and so its NTLM helper) runs in a mount namespace of its own where this lab's
 * winbindd directory is bound over `/run/samba/winbindd`, so two labs never share one winbindd.
 */
const WINBINDD_SOCKET_DIR = '/run/samba/winbindd';

function withOwnWinbindd(dcDir: string, command: string, args: readonly string[]): [string, string[]] {
  mkdirSync(WINBINDD_SOCKET_DIR, { recursive: true }); // only a mount point: nothing is written to it
  return ['unshare', ['-m', 'sh', '-c', `mount --bind "$0" ${WINBINDD_SOCKET_DIR} && exec "$@"`, join(dcDir, 'run', 'winbindd'), command, ...args]];
}

/**
 * Waits for the DC's winbindd (the NTLM helper's way to the DC) and lets Squid's helpers, which run as
 * the `proxy` user, into its privileged pipe's directory (winbindd makes it root's, 0750).
 */
async function openWinbindd(dcDir: string, samba: ChildProcess): Promise<void> {
  const privileged = join(dcDir, 'state', 'winbindd_privileged');
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(privileged, 'pipe')) || !existsSync(join(dcDir, 'run', 'winbindd', 'pipe'))) {
    if (samba.exitCode !== null || Date.now() > deadline) {
      throw new LabSetupError(`Samba's winbindd did not open its pipes in ${dcDir} (package winbind; samba-ad-dc starts it as a DC service)`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await run('chgrp', ['proxy', privileged]);
}

/** Polls until nothing accepts on `host:port` inside the namespace. */
async function waitClosedInNs(ns: string, host: string, port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (await run(...inNs(ns, 'bash', ['-c', `exec 3<>/dev/tcp/${host}/${port}`])).then(() => true, () => false)) {
    if (Date.now() > deadline) throw new LabSetupError(`${host}:${port} still open ${ms} ms after its service was killed`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startSamba(ns: string, dcDir: string, clockOffset?: string): ChildProcess {
  const samba = ['samba', '-s', join(dcDir, 'etc', 'smb.conf'), '--foreground', '--no-process-group'];
  const [cmd, args] = clockOffset ? inNs(ns, 'faketime', ['-f', clockOffset, ...samba]) : inNs(ns, samba[0] as string, samba.slice(1));
  return startService(cmd, args, join(dcDir, 'samba.out'), {});
}

function killGroup(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.ref();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    return Promise.resolve();
  }
  return exited;
}

/**
 * Provisions the domain into `dcDir` (in a namespace of its own, since the DNS records need the DC
 * running): the users, the service account and its SPN, the DNS names, the big user's groups.
 */
async function provision(dcDir: string, scratch: string): Promise<void> {
  const ns = `jaatoadprov${process.pid}`;
  await createNetns(ns);
  let samba: ChildProcess | undefined;
  try {
    await run(...inNs(ns, 'samba-tool', [
      'domain', 'provision', '--server-role=dc', '--use-rfc2307', '--dns-backend=SAMBA_INTERNAL', `--realm=${REALM}`, '--domain=ADJAATO',
      `--adminpass=${ADMIN_PASSWORD}`, '--host-name=dc1', `--host-ip=${DC_ADDRESS}`, `--targetdir=${dcDir}`,
      '--option=interfaces=lo', '--option=bind interfaces only=yes', '--option=netbios name=DC1',
    ]));
    writeFileSync(join(dcDir, 'etc', 'smb.conf'), smbConf(dcDir));
    mkdirSync(join(dcDir, 'run'), { recursive: true });
    const s = ['-s', join(dcDir, 'etc', 'smb.conf')];
    for (const u of [USER, BIG, SERVICE]) {
      await run('samba-tool', ['user', 'create', u.name, u.password, ...s]);
      await run('samba-tool', ['user', 'setexpiry', '--noexpiry', u.name, ...s]);
    }
    await run('samba-tool', ['spn', 'add', `HTTP/proxy.${DOMAIN}`, SERVICE.name, ...s]);
    // AES only for the service account (msDS-SupportedEncryptionTypes 24), as hardened domains have it.
    const ldif = `dn: CN=${SERVICE.name},CN=Users,${BASE_DN}\nchangetype: modify\nreplace: msDS-SupportedEncryptionTypes\nmsDS-SupportedEncryptionTypes: 24\n`;
    await run('ldbmodify', ['-H', join(dcDir, 'private', 'sam.ldb')], { input: ldif });
    // The big user's groups, offline in one ldbadd (11 s for 3,000; over LDAP it takes minutes).
    let groups = '';
    for (let i = 0; i < BIG_USER_GROUPS; i++) {
      groups += `dn: CN=jaato-g${i},CN=Users,${BASE_DN}\nobjectClass: group\nsAMAccountName: jaato-g${i}\nmember: CN=${BIG.name},CN=Users,${BASE_DN}\n\n`;
    }
    writeFileSync(join(scratch, 'groups.ldif'), groups);
    await run('ldbadd', ['-H', join(dcDir, 'private', 'sam.ldb'), join(scratch, 'groups.ldif')]);
    samba = startSamba(ns, dcDir);
    await waitInNs(ns, DC_ADDRESS, 135, 'Samba (provisioning)', samba, [join(dcDir, 'samba.out')]);
    for (const record of [['proxy', 'A', '127.0.0.1'], ['proxycname', 'CNAME', `proxy.${DOMAIN}`], ['proxyvip', 'A', '127.0.0.1']]) {
      await run(...inNs(ns, 'samba-tool', ['dns', 'add', DC_ADDRESS, DOMAIN, ...record, ...s, '-U', `Administrator%${ADMIN_PASSWORD}`]));
    }
  } finally {
    await killGroup(samba);
    await deleteNetns(ns);
  }
}

/** What of a DC's directory is its state: not the sockets, locks and logs of the Samba that ran on it. */
function stateOnly(src: string): boolean {
  const name = src.slice(src.lastIndexOf('/') + 1);
  return !['msg.sock', 'msg.lock', 'run', 'samba.out', 'log.samba'].includes(name) && !lstatSync(src).isSocket();
}

/**
 * Provisions the DC into the cache under `.cache/` unless it is there: 25-40 s on a quiet machine, and
 * minutes at load 12 with another suite provisioning beside it, more than a test file's bound. So the
 * test runner calls it before the suite (scripts/test.mjs), and a test only copies the cached DC.
 */
export async function cacheAdDc(): Promise<{ path: string; cached: boolean; ms: number }> {
  checkAdPrerequisites();
  await sweepStaleAdLabs();
  const scratch = mkdtempSync(join(tmpdir(), 'jaato-adcache-'));
  try {
    return await cachedDc(scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function cachedDc(scratch: string): Promise<{ path: string; cached: boolean; ms: number }> {
  const started = Date.now();
  const version = (await run('samba', ['--version'])).trim().replace(/[^A-Za-z0-9.+-]/g, '_');
  const cached = join(cacheRoot(), `ad-dc-v${TEMPLATE_VERSION}-${version}`);
  const hit = existsSync(join(cached, 'etc', 'smb.conf'));
  if (!hit) {
    // Provisioned under a short path (Samba's sockets live under it, and a Unix socket's path is at
    // most 107 bytes), copied beside the cache and renamed into place: a half-built one is never used.
    mkdirSync(cacheRoot(), { recursive: true });
    const work = mkdtempSync(join(tmpdir(), 'jaato-adprov-'));
    writeFileSync(join(work, 'owner.pid'), String(process.pid));
    const building = mkdtempSync(`${cached}.building-`);
    try {
      await provision(join(work, 'dc'), scratch);
      cpSync(join(work, 'dc'), join(building, 'dc'), { recursive: true, filter: stateOnly });
      try {
        renameSync(join(building, 'dc'), cached);
      } catch {
        // another run cached it first
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(building, { recursive: true, force: true });
    }
  }
  return { path: cached, cached: hit, ms: Date.now() - started };
}

/** The provisioned DC, from the cache or made now (and cached), copied into `dcDir`. */
async function provisionedDc(dcDir: string, scratch: string): Promise<{ cached: boolean; ms: number }> {
  const started = Date.now();
  const { path, cached } = await cachedDc(scratch);
  cpSync(path, dcDir, { recursive: true, filter: stateOnly });
  mkdirSync(join(dcDir, 'run'), { recursive: true });
  writeFileSync(join(dcDir, 'etc', 'smb.conf'), smbConf(dcDir));
  return { cached, ms: Date.now() - started };
}

function krb5Conf(rdns: boolean): string {
  // AES only, as the service account: an RC4 ticket would not pass.
  return `[libdefaults]
	default_realm = ${REALM}
	dns_lookup_realm = false
	dns_lookup_kdc = false
	allow_weak_crypto = false
	permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
	default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
	default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
${rdns ? '' : '	rdns = false\n'}[realms]
	${REALM} = {
		kdc = ${DC_ADDRESS}
		admin_server = ${DC_ADDRESS}
		kpasswd_server = ${DC_ADDRESS}
	}
[domain_realm]
	.${DOMAIN} = ${REALM}
	${DOMAIN} = ${REALM}
`;
}

export interface StartAdLabOptions {
  /** Squid's `request_header_max_size` in bytes (default 64 KB, Squid's). */
  squidHeaderLimit?: number;
}

/**
 * Removes what an AD lab of a process that died without stopping it left: its namespace (and what
 * runs in it), `/etc/netns/<ns>`, its directory, Squid's shared memory. All are named after the pid.
 */
async function sweepStaleAdLabs(): Promise<void> {
  const owner = (name: string): number | undefined => {
    const m = /^jaatoad(?:prov)?(\d+)/.exec(name);
    return m ? Number(m[1]) : undefined;
  };
  const stale = (name: string): boolean => {
    const pid = owner(name);
    return pid !== undefined && pid !== process.pid && !isAlive(pid);
  };
  const namespaces = (await run('ip', ['netns', 'list']).catch(() => '')).split('\n').map((l) => l.split(' ')[0] ?? '');
  for (const ns of namespaces) if (stale(ns)) await deleteNetns(ns);
  for (const ns of existsSync('/etc/netns') ? readdirSync('/etc/netns') : []) if (stale(ns)) rmSync(join('/etc/netns', ns), { recursive: true, force: true });
  for (const f of existsSync('/dev/shm') ? readdirSync('/dev/shm') : []) if (stale(f)) rmSync(join('/dev/shm', f), { force: true });
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith('jaato-adlab-') && !entry.startsWith('jaato-adprov-')) continue;
    const dir = join(tmpdir(), entry);
    const pid = Number(existsSync(join(dir, 'owner.pid')) ? readFileSync(join(dir, 'owner.pid'), 'utf8') : NaN);
    if (pid > 0 && !isAlive(pid)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts the AD lab (see AdLab). Fails loudly, naming the Debian packages, when one is missing. */
export async function startAdLab(options: StartAdLabOptions = {}): Promise<AdLab & { timings: { dcMs: number; cached: boolean; startMs: number } }> {
  const started = Date.now();
  checkAdPrerequisites();
  await sweepStaleAdLabs();
  const dir = mkdtempSync(join(tmpdir(), 'jaato-adlab-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const ns = `jaatoad${process.pid}x${Math.floor(Math.random() * 1e6)}`;
  const dcDir = join(dir, 'dc');
  const squidDir = join(dir, 'squid');
  const logs = join(squidDir, 'logs');
  const ccache = `FILE:${join(dir, 'ccache')}`;
  const conf = join(dir, 'krb5.conf');
  const confRdns = join(dir, 'krb5-rdns.conf');
  let samba: ChildProcess | undefined;
  let squid: ChildProcess | undefined;
  const squidName = `jaatoad${process.pid}`;
  const cleanup = async (): Promise<void> => {
    await killGroup(squid);
    await killGroup(samba);
    await deleteNetns(ns);
    // Squid's shared-memory segments are named after its -n name; faketime's after its process.
    for (const f of existsSync('/dev/shm') ? readdirSync('/dev/shm') : []) {
      if (f.startsWith(`${squidName}-`)) rmSync(join('/dev/shm', f), { force: true });
    }
    removeFaketimeShm(samba);
    rmSync(dir, { recursive: true, force: true });
  };
  // The namespace outlives a process that exits without stop(): its services at least go with it (the next start sweeps the rest).
  const onExit = (): void => {
    for (const c of [squid, samba]) {
      if (c?.pid === undefined || c.exitCode !== null) continue;
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.once('exit', onExit);
  try {
    const dc = await provisionedDc(dcDir, dir);
    writeFileSync(conf, krb5Conf(false));
    writeFileSync(confRdns, krb5Conf(true));
    await createNetns(ns);
    samba = startSamba(ns, dcDir);
    await waitInNs(ns, DC_ADDRESS, 88, 'Samba (AD DC)', samba, [join(dcDir, 'samba.out'), join(dcDir, 'log.samba')]);
    await openWinbindd(dcDir, samba);
    const smb = ['-s', join(dcDir, 'etc', 'smb.conf')];
    // The directory's own file: the running DC reads each change from it at once (ldb's sequence number).
    const samLdb = join(dcDir, 'private', 'sam.ldb');
    const sambaTool = (args: readonly string[]): Promise<string> => run('samba-tool', [...args, '-H', samLdb, ...smb]);
    const modify = async (ldif: string): Promise<void> => {
      await run('ldbmodify', ['-H', samLdb], { input: ldif });
    };
    const exec = (command: string, args: readonly string[], env: Record<string, string> = {}): Promise<string> =>
      run(...inNs(ns, command, args), { env: { ...process.env, KRB5_CONFIG: conf, ...env } });
    const keytab = join(squidDir, 'proxy.keytab');
    mkdirSync(logs, { recursive: true });
    mkdirSync(join(squidDir, 'rcache'), { recursive: true });
    chmodSync(logs, 0o777);
    chmodSync(join(squidDir, 'rcache'), 0o777);
    const proxyKvno = async (): Promise<number> => {
      const out = await run('ldbsearch', ['-H', join(dcDir, 'private', 'sam.ldb'), `(sAMAccountName=${SERVICE.name})`, 'msDS-KeyVersionNumber']);
      const m = /msDS-KeyVersionNumber: (\d+)/.exec(out);
      if (!m) throw new LabSetupError(`no key version for ${SERVICE.name}: ${out}`);
      return Number(m[1]);
    };
    // Samba's export by SPN writes the RC4 key only; the AES keys come from the password and AD's
    // salt (REALM + account name), as Windows' ktpass does.
    const writeProxyKeytab = async (kvno?: number): Promise<number> => {
      const k = kvno ?? (await proxyKvno());
      rmSync(keytab, { force: true });
      const principal = `HTTP/proxy.${DOMAIN}@${REALM}`;
      const salt = `${REALM}${SERVICE.name}`;
      const input = ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96']
        .map((e) => `addent -password -p ${principal} -k ${k} -e ${e} -s ${salt}\n${SERVICE.password}\n`)
        .join('') + `wkt ${keytab}\nquit\n`;
      await run('ktutil', [], { input, env: { ...process.env, KRB5_CONFIG: conf } });
      chmodSync(keytab, 0o644);
      return k;
    };
    await writeProxyKeytab();
    const squidConf = join(squidDir, 'squid.conf');
    const writeSquidConf = (headerLimit: number | undefined): void => writeFileSync(
      squidConf,
      `http_port 127.0.0.1:${PROXY_PORT}
pid_filename ${join(squidDir, 'squid.pid')}
cache_log ${join(logs, 'cache.log')}
logformat jaato %ts.%03tu %>lp %rm %ru %>Hs %un %Ss %>p
access_log stdio:${join(logs, 'access.log')} jaato
buffered_logs off
cache deny all
cache_mem 8 MB
coredump_dir ${logs}
shutdown_lifetime 0 seconds
visible_hostname jaato-adlab
hosts_file /etc/hosts
${headerLimit !== undefined ? `request_header_max_size ${headerLimit} bytes\n` : ''}auth_param negotiate program /usr/lib/squid/negotiate_kerberos_auth -k ${keytab} -s GSS_C_NO_NAME
auth_param negotiate children 4 startup=1 idle=1
auth_param negotiate keep_alive on
auth_param ntlm program /usr/bin/ntlm_auth --helper-protocol=squid-2.5-ntlmssp --configfile=${join(dcDir, 'etc', 'smb.conf')}
auth_param ntlm children 4 startup=1 idle=1
auth_param ntlm keep_alive on
acl authenticated proxy_auth REQUIRED
http_access allow authenticated
http_access deny all
`,
    );
    writeSquidConf(options.squidHeaderLimit);
    const squidEnv = { ...process.env, KRB5_CONFIG: conf, KRB5_KTNAME: keytab, KRB5RCACHEDIR: join(squidDir, 'rcache') };
    const [scmd, sargs] = inNs(ns, ...withOwnWinbindd(dcDir, 'squid', ['-N', '-n', squidName, '-f', squidConf]));
    squid = startService(scmd, sargs, join(squidDir, 'squid.out'), { env: squidEnv });
    await waitInNs(ns, '127.0.0.1', PROXY_PORT, 'Squid (AD lab)', squid, [join(logs, 'cache.log'), join(squidDir, 'squid.out')]);
    const user = (u: { name: string; password: string }): AdUser => ({ ...u, principal: `${u.name}@${REALM}` });
    const kinit = async (u: AdUser, cc = ccache): Promise<void> => {
      await run(...inNs(ns, 'kinit', [u.principal]), { env: { ...process.env, KRB5_CONFIG: conf, KRB5CCNAME: cc }, input: `${u.password}\n` });
    };
    const users = { user: user(USER), big: user(BIG) };
    await kinit(users.user);
    const env = { KRB5_CONFIG: conf, KRB5CCNAME: ccache };
    const lab: AdLab & { timings: { dcMs: number; cached: boolean; startMs: number } } = {
      dir,
      netns: ns,
      realm: REALM,
      netbiosDomain: NETBIOS_DOMAIN,
      dcAddress: DC_ADDRESS,
      proxyHost: `proxy.${DOMAIN}`,
      proxyUrl: `http://proxy.${DOMAIN}:${PROXY_PORT}`,
      names: { cname: `proxycname.${DOMAIN}`, noSpn: `proxyvip.${DOMAIN}` },
      users,
      serviceAccount: SERVICE.name,
      krb5Conf: conf,
      krb5ConfRdns: confRdns,
      env,
      kinit,
      sambaTool,
      modify,
      exec,
      node: (script, args, extra = {}) =>
        new Promise((done) => {
          const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], {
            env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, ...extra },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
        }),
      writeProxyKeytab,
      proxyKvno,
      reconfigureSquid: async () => {
        // Done when Squid has opened its port again: one more "Accepting" line in its cache.log.
        const cacheLog = join(logs, 'cache.log');
        const accepting = (): number => (readFileSync(cacheLog, 'utf8').match(/Accepting HTTP Socket connections/g) ?? []).length;
        const before = accepting();
        await run(...inNs(ns, 'squid', ['-k', 'reconfigure', '-n', squidName, '-f', squidConf]), { env: squidEnv });
        const deadline = Date.now() + 20_000;
        while (accepting() <= before) {
          if (Date.now() > deadline) throw new LabSetupError(`Squid did not reconfigure within 20 s:\n${readFileSync(cacheLog, 'utf8').split('\n').slice(-15).join('\n')}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        await waitInNs(ns, '127.0.0.1', PROXY_PORT, 'Squid (AD lab)', squid as ChildProcess, [cacheLog]);
      },
      setSquidHeaderLimit: async (bytes) => {
        writeSquidConf(bytes);
        await lab.reconfigureSquid();
      },
      restartDc: async (clockOffset) => {
        const old = samba;
        await killGroup(old);
        // Its prefork workers may hold the KDC's port a moment longer: the new DC must not find it taken.
        await waitClosedInNs(ns, DC_ADDRESS, 88);
        removeFaketimeShm(old);
        samba = startSamba(ns, dcDir, clockOffset);
        await waitInNs(ns, DC_ADDRESS, 88, 'Samba (AD DC)', samba, [join(dcDir, 'samba.out')]);
        await openWinbindd(dcDir, samba);
      },
      accessLog: () => readAccessLog(join(logs, 'access.log')),
      stop: async () => {
        process.off('exit', onExit);
        await cleanup();
      },
      timings: { dcMs: dc.ms, cached: dc.cached, startMs: 0 },
    };
    lab.timings.startMs = Date.now() - started;
    return lab;
  } catch (error) {
    process.off('exit', onExit);
    await cleanup();
    throw error;
  }
}
