import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { apacheActiveRequests, startApache } from './apache.js';
import { createCertificates } from './certs.js';
import { startKdc } from './kdc.js';
import { startHttpOrigin, startHttpsOrigin, type Origin } from './origin.js';
import { checkLabPrerequisites, LabSetupError } from './prerequisites.js';
import { isAlive, run, waitForPortFree } from './processes.js';
import { readAccessLog, squidActiveRequests, startSquid, type AccessLogEntry } from './squid.js';

const REALM = 'JAATO.TEST';
const USER = 'alice';
// Throwaway secrets of a realm that lives for one lab run, on loopback only.
const PASSWORD = 'lab-alice-password';
const BASIC_USER = 'bob';
const BASIC_PASSWORD = 'lab-bob-password';
const DIR_PREFIX = 'jaato-lab-';

/**
 * A running lab: an MIT KDC, two real Negotiate proxy families, and an HTTP and an HTTPS echo origin,
 * all on 127.0.0.1. Squid (negotiate_kerberos_auth, plus Basic) authenticates a connection once and
 * never sends a reply token; Apache httpd + mod_auth_gssapi wants a token on every request and sends
 * a reply token on forwarded 200s. State lives in one temporary directory.
 */
export interface Lab {
  dir: string;
  realm: string;
  /** The Kerberos user, `alice@JAATO.TEST`. */
  principal: string;
  /**
   * Proxy URLs (host `localhost`, so the SPN is `HTTP@localhost`). `negotiate`, `basic`, `both`: Squid's
   * ports; `perRequest`: Apache, Negotiate only, a token per request.
   */
  proxies: { negotiate: string; basic: string; both: string; perRequest: string };
  /** Credentials Squid's Basic ports accept. */
  basic: { username: string; password: string };
  origins: { http: Origin; https: Origin };
  /** PEM of the CA that signed the HTTPS origin's certificate. */
  ca: string;
  /** KRB5_CONFIG, KRB5_KDC_PROFILE and KRB5CCNAME for this lab. */
  env: Record<string, string>;
  /** Service principals the KDC knows but Squid's keytab lacks (SPN-mismatch tests). */
  spnNotInKeytab: string;
  /** A second name Squid's keytab holds, for SPN-override tests. */
  spnAlias: string;
  /** Gets a ticket for the lab user with a real `kinit`; `lifetime` like kinit's -l (e.g. `5s`). */
  kinit(options?: { lifetime?: string; ccache?: string }): Promise<void>;
  /** Destroys the lab user's tickets (`kdestroy`). */
  kdestroy(): Promise<void>;
  /** Runs `kinit` unless the default cache already holds a valid ticket (`klist -s`). */
  ensureTicket(): Promise<void>;
  /**
   * Writes a client keytab for the lab user (`ktadd -norandkey`, so the password stays valid) and
   * returns its path: pointed to by KRB5_CLIENT_KTNAME, GSSAPI gets the TGT itself, without kinit.
   */
  clientKeytab(path?: string): Promise<string>;
  /** Squid's access log so far. */
  accessLog(): AccessLogEntry[];
  /** Apache's (`proxies.perRequest`) access log so far; `squidStatus` is APACHE_ and its %X (+, -, X). */
  perRequestLog(): AccessLogEntry[];
  /**
   * Requests Squid and Apache are serving now, open tunnels included (idle kept-alive connections are
   * not requests). Both write a request's log line when it ends, so at 0 their logs are complete.
   */
  activeRequests(): Promise<{ squid: number; apache: number }>;
  /** Stops the KDC (to test an unreachable KDC). */
  stopKdc(): Promise<void>;
  /** Starts the stopped KDC again, on the same port and database. */
  startKdc(): Promise<void>;
  /** Kills Squid (SIGKILL, as a crash would) and starts it again on the same ports. */
  restartSquid(options?: RestartOptions): Promise<void>;
  /** Kills Apache (`proxies.perRequest`; SIGKILL to its process group, as a crash would) and starts it again on the same port. */
  restartApache(options?: RestartOptions): Promise<void>;
  stop(): Promise<void>;
}

export interface RestartOptions {
  /**
   * Awaited while the proxy is down (killed, its ports free), before it is started again: a test that
   * needs the outage to be seen (a refused dial) waits for it here instead of hoping a loaded machine's
   * requests reach the dial before a quick restart is over.
   */
  whileDown?: () => Promise<void>;
}

export interface StartLabOptions {
  /** Run `kinit` once the KDC is up (default true). */
  kinit?: boolean;
  /**
   * More ports the proxies let CONNECT reach, for a test that starts origins of its own. Like corporate
   * ones, they tunnel only to 443 and the lab origins' ports; this adds to that list, not opens it.
   */
  connectPorts?: readonly number[];
  /** Squid's `request_header_max_size` in bytes (Squid's default 64 KB), to test a proxy that refuses a large token. */
  squidHeaderLimit?: number;
}

/** Runs a restart's `whileDown`; its failure is returned, so the proxy is started again all the same. */
async function holdDown(options: RestartOptions): Promise<{ error: unknown } | undefined> {
  try {
    await options.whileDown?.();
    return undefined;
  } catch (error) {
    return { error };
  }
}

/** Processes this Node process started, killed on exit even if the caller never calls stop(). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) killGroup(child);
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    // Negative pid: the whole group, so Squid's helpers go too.
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Kills the group and resolves once the process has exited. The service was unref'd at start: it is
 * ref'd while this waits, or Node could exit first when nothing else is pending (a test's last hook).
 */
function killAndWait(child: ChildProcess): Promise<void> {
  killGroup(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.ref();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Removes what an earlier lab left behind when its process died without stopping it: kills the
 * services it recorded and deletes its directory and Squid's shared-memory segments.
 */
export function sweepStaleLabs(): void {
  const base = tmpdir();
  for (const entry of readdirSync(base)) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = join(base, entry);
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // not ours, or still being created
    }
    if (isAlive(owner)) continue;
    for (const line of safeRead(join(dir, 'services.pid')).split('\n')) {
      const pid = Number(line);
      if (pid > 0) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    removeShm(squidName(entry));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Squid's -n wants an alphanumeric name; its /dev/shm segments are named after it. */
function squidName(dirName: string): string {
  return dirName.replace(/[^A-Za-z0-9]/g, '');
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function removeShm(name: string): void {
  if (!existsSync('/dev/shm')) return;
  for (const f of readdirSync('/dev/shm')) if (f.startsWith(`${name}-`)) rmSync(join('/dev/shm', f), { force: true });
}

/**
 * Squid and Apache drop to the users `proxy` and `www-data`, who must reach the lab's directory: every
 * directory above it must let others through (o+x). A private TMPDIR (mode 0700) would otherwise end
 * in Squid's "Cannot open ... for writing" and a keytab it cannot stat.
 */
function checkLabParent(base: string): void {
  for (let dir = resolve(base); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new LabSetupError(
        `The lab's directory goes in ${base} (os.tmpdir(): TMPDIR or /tmp), but ${dir} does not let other users through (mode ${(statSync(dir).mode & 0o777).toString(8)}), ` +
          `and Squid and Apache run as the users proxy and www-data: chmod o+x ${dir}, or point TMPDIR at a directory they can reach`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}

export async function startLab(options: StartLabOptions = {}): Promise<Lab> {
  checkLabPrerequisites();
  checkLabParent(tmpdir());
  sweepStaleLabs();
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  const name = squidName(dir.slice(dir.lastIndexOf('/') + 1));
  // Squid, dropped to user `proxy`, must reach files in here.
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const children: ChildProcess[] = [];
  const track = (child: ChildProcess): void => {
    children.push(child);
    running.add(child);
    writeFileSync(join(dir, 'services.pid'), children.map((c) => c.pid).join('\n'));
  };
  const origins: Origin[] = [];
  const stopAll = async (): Promise<void> => {
    // Every service gone before its files: a Squid still running could write its segments again.
    await Promise.all([...children.map((child) => killAndWait(child).then(() => running.delete(child))), ...origins.map((o) => o.close())]);
    removeShm(name);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const keytab = join(dir, 'proxy.keytab');
    const kdc = await startKdc({
      dir,
      realm: REALM,
      user: USER,
      password: PASSWORD,
      keytabPrincipals: ['HTTP/localhost', 'HTTP/proxy-alias'],
      extraPrincipals: ['HTTP/not-in-keytab'],
      keytab,
    });
    track(kdc.process);
    const certs = await createCertificates(dir);
    const http = await startHttpOrigin();
    origins.push(http);
    const https = await startHttpsOrigin(certs);
    origins.push(https);
    // Both origins: ws:// goes through a CONNECT tunnel too.
    const connectPorts = [https.port, http.port, ...(options.connectPorts ?? [])];
    const squid = await startSquid({
      dir,
      name,
      keytab,
      krb5Conf: kdc.krb5Conf,
      basicUser: BASIC_USER,
      basicPassword: BASIC_PASSWORD,
      connectPorts,
      ...(options.squidHeaderLimit !== undefined && { requestHeaderMaxSize: options.squidHeaderLimit }),
    });
    track(squid.process);
    const apache = await startApache({ dir, keytab, krb5Conf: kdc.krb5Conf, connectPorts });
    track(apache.process);
    const kinitEnv = { ...process.env, ...kdc.env };
    const lab: Lab = {
      dir,
      realm: REALM,
      principal: `${USER}@${REALM}`,
      proxies: {
        negotiate: `http://localhost:${squid.ports.negotiate}`,
        basic: `http://localhost:${squid.ports.basic}`,
        both: `http://localhost:${squid.ports.both}`,
        perRequest: `http://localhost:${apache.port}`,
      },
      basic: { username: BASIC_USER, password: BASIC_PASSWORD },
      origins: { http, https },
      ca: certs.ca,
      env: kdc.env,
      spnNotInKeytab: 'HTTP@not-in-keytab',
      spnAlias: 'HTTP@proxy-alias',
      kinit: async ({ lifetime, ccache } = {}) => {
        const args = lifetime ? ['-l', lifetime] : [];
        if (ccache) args.push('-c', ccache);
        await run('kinit', [...args, `${USER}@${REALM}`], { env: kinitEnv, input: `${PASSWORD}\n` });
      },
      kdestroy: async () => {
        await run('kdestroy', ['-q'], { env: kinitEnv }).catch(() => undefined);
      },
      ensureTicket: async () => {
        const valid = await run('klist', ['-s'], { env: kinitEnv }).then(() => true, () => false);
        if (!valid) await lab.kinit();
      },
      clientKeytab: async (path = join(dir, 'alice-client.keytab')) => {
        const out = await run('kadmin.local', ['-r', REALM], { env: kinitEnv, input: `ktadd -norandkey -k ${path} ${USER}@${REALM}\n` });
        if (!existsSync(path)) throw new Error(`kadmin.local wrote no keytab at ${path}: ${out}`);
        return path;
      },
      accessLog: () => readAccessLog(squid.accessLog),
      perRequestLog: () => readAccessLog(apache.accessLog),
      activeRequests: async () => {
        const [squidNow, apacheNow] = await Promise.all([squidActiveRequests(squid.managerPort), apacheActiveRequests(apache.port)]);
        return { squid: squidNow, apache: apacheNow };
      },
      // Resolves once the KDC has exited: a request made right after must find no KDC, not a dying one.
      stopKdc: () => killAndWait(kdc.process),
      startKdc: async () => {
        kdc.process = await kdc.relaunch();
        track(kdc.process);
      },
      restartSquid: async (options = {}) => {
        await killAndWait(squid.process);
        await Promise.all([...Object.values(squid.ports), squid.managerPort].map((port) => waitForPortFree(port, 'Squid')));
        removeShm(name);
        const held = await holdDown(options);
        squid.process = await squid.relaunch();
        track(squid.process);
        if (held) throw held.error;
      },
      restartApache: async (options = {}) => {
        await killAndWait(apache.process);
        await waitForPortFree(apache.port, 'Apache httpd');
        const held = await holdDown(options);
        apache.process = await apache.relaunch();
        track(apache.process);
        if (held) throw held.error;
      },
      stop: stopAll,
    };
    if (options.kinit !== false) await lab.kinit();
    return lab;
  } catch (error) {
    await stopAll();
    throw error;
  }
}
