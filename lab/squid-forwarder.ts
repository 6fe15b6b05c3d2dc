import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort, run, startService, waitForPort } from './processes.js';

export interface SquidForwarderOptions {
  /** The lab's directory; the forwarder's files go in a folder of their own inside it. */
  dir: string;
  /** Unique alphanumeric instance name (Squid names its /dev/shm segments after it). */
  name: string;
  /** The Kerberos Squid to forward to, by name: its SPN is `HTTP@<peerHost>`. */
  peerHost: string;
  peerPort: number;
  /** A client keytab (the lab's `clientKeytab()`): Squid gets its own tickets from it. */
  clientKeytab: string;
  krb5Conf: string;
}

export interface SquidForwarder {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  process: ChildProcess;
  cacheLog: string;
  stop(): Promise<void>;
}

/**
 * Squid's own answer to "tools that cannot speak Negotiate": a second Squid, open to loopback clients,
 * that sends everything (CONNECT included) to the Kerberos Squid as its parent, authenticating with
 * `login=NEGOTIATE`. Squid makes those tokens itself from the keytab KRB5_KTNAME names, for the
 * service `HTTP@<peer host>`, so the peer is named (`localhost`), not given as an address. The
 * benchmark's baseline for `serve`.
 *
 * Squid puts a new token on every request it forwards to the peer (each validated by the Kerberos
 * Squid's helper), and keeps the TGT it got from the keytab only while it is renewable: the lab's KDC
 * issues renewable tickets (lab/kdc.ts), as a realm normally does, or Squid would fetch a TGT and a
 * service ticket from the KDC for every forwarded request (bench/README.md).
 */
export async function startSquidForwarder(o: SquidForwarderOptions): Promise<SquidForwarder> {
  const port = await freePort();
  const dir = join(o.dir, 'forwarder');
  const p = (name: string): string => join(dir, name);
  mkdirSync(dir, { recursive: true });
  // Started as root, Squid drops to the `proxy` user: it must read the keytab and write here.
  chmodSync(dir, 0o777);
  chmodSync(o.clientKeytab, 0o644);
  const cacheLog = p('cache.log');
  const conf = p('squid.conf');
  writeFileSync(
    conf,
    `http_port 127.0.0.1:${port}
pid_filename ${p('squid.pid')}
cache_log ${cacheLog}
access_log none
cache deny all
cache_mem 8 MB
coredump_dir ${dir}
shutdown_lifetime 0 seconds
visible_hostname jaato-lab-forwarder
client_request_buffer_max_size 64 MB
cache_peer ${o.peerHost} parent ${o.peerPort} 0 no-query no-digest no-netdb-exchange default login=NEGOTIATE name=kerberos
never_direct allow all
http_access allow localhost
http_access deny all
`,
  );
  const env = { ...process.env, KRB5_CONFIG: o.krb5Conf, KRB5_KTNAME: o.clientKeytab, KRB5RCACHEDIR: dir };
  await run('squid', ['-k', 'parse', '-f', conf], { env });
  const child = startService('squid', ['-N', '-n', o.name, '-f', conf], p('squid.out'), { env });
  // So the lab's sweep of a dead run's services (services.pid) ends this one too.
  appendFileSync(join(o.dir, 'services.pid'), `\n${child.pid}`);
  const stop = async (): Promise<void> => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // The service was unref'd at start: ref it until it has exited, or a caller's last await (a test
      // file's after hook) lets Node exit first, and the /dev/shm segments below are never removed.
      child.ref();
      try {
        process.kill(-child.pid, 'SIGKILL'); // the group: Squid's helpers go too
      } catch {
        // already gone
      }
      await exited;
    }
    if (existsSync('/dev/shm')) for (const f of readdirSync('/dev/shm')) if (f.startsWith(`${o.name}-`)) rmSync(join('/dev/shm', f), { force: true });
  };
  try {
    await waitForPort(port, 'Squid forwarder', 10_000, [cacheLog, p('squid.out')], child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, port, process: child, cacheLog, stop };
}
