import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort, rawGet, run, startService, waitForPort } from './processes.js';

export interface SquidOptions {
  dir: string;
  /** Unique instance name: Squid names its /dev/shm segments after it. */
  name: string;
  keytab: string;
  krb5Conf: string;
  basicUser: string;
  basicPassword: string;
  /** Ports CONNECT may reach; like a corporate Squid, every other CONNECT is refused. */
  connectPorts: readonly number[];
  /** `request_header_max_size` in bytes; Squid's default (64 KB) when absent. Past it Squid answers 431. */
  requestHeaderMaxSize?: number;
}

export interface Squid {
  process: ChildProcess;
  /** Starts Squid again with the same configuration and ports (after it was killed). */
  relaunch(): Promise<ChildProcess>;
  ports: { negotiate: number; basic: number; both: number };
  /** The cache manager's own port (loopback clients, no authentication, not logged): see squidActiveRequests. */
  managerPort: number;
  accessLog: string;
  cacheLog: string;
}

/**
 * One Squid with three listening ports: Negotiate only, Basic only, and both offered. `auth_schemes`
 * only picks the challenge, so each single-scheme port also refuses the other scheme's credentials.
 */
export async function startSquid(o: SquidOptions): Promise<Squid> {
  const [negotiate, basic, both, manager] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const p = (name: string): string => join(o.dir, name);
  const logs = p('squid-logs');
  mkdirSync(logs, { recursive: true });
  mkdirSync(p('rcache'), { recursive: true });
  // Started as root, Squid drops to the `proxy` user: it must read the keytab and write its logs.
  chmodSync(logs, 0o777);
  chmodSync(p('rcache'), 0o777);
  chmodSync(o.keytab, 0o644);
  const htpasswd = p('htpasswd');
  const hash = (await run('openssl', ['passwd', '-apr1', o.basicPassword])).trim();
  writeFileSync(htpasswd, `${o.basicUser}:${hash}\n`, { mode: 0o644 });
  const accessLog = join(logs, 'access.log');
  const cacheLog = join(logs, 'cache.log');
  const conf = p('squid.conf');
  // client_request_buffer_max_size: Squid 5.7 reads a full request buffer as EOF from the client
  // (cache.log: "shouldCloseOnEof: yes"), so under CPU load, when the origin side drains slower than
  // the client sends, an upload is cut part-way (TCP_MISS_ABORTED; 8-11 of 20 10 MiB uploads on two
  // busy cores, 0 of 40 with a buffer larger than any body the tests send).
  writeFileSync(
    conf,
    `http_port 127.0.0.1:${negotiate} name=negotiate
http_port 127.0.0.1:${basic} name=basic
http_port 127.0.0.1:${both} name=both
http_port 127.0.0.1:${manager} name=manager
pid_filename ${p('squid.pid')}
cache_log ${cacheLog}
logformat jaato %ts.%03tu %>lp %rm %ru %>Hs %un %Ss %>p
buffered_logs off
cache deny all
cache_mem 8 MB
coredump_dir ${logs}
shutdown_lifetime 0 seconds
client_request_buffer_max_size 64 MB
${o.requestHeaderMaxSize !== undefined ? `request_header_max_size ${o.requestHeaderMaxSize} bytes\n` : ''}visible_hostname jaato-lab
dns_v4_first on
auth_param negotiate program /usr/lib/squid/negotiate_kerberos_auth -k ${o.keytab} -s GSS_C_NO_NAME
auth_param negotiate children 4 startup=1 idle=1
auth_param negotiate keep_alive on
auth_param basic program /usr/lib/squid/basic_ncsa_auth ${htpasswd}
auth_param basic children 2 startup=1 idle=1
auth_param basic realm jaato-lab
acl port_negotiate myportname negotiate
acl port_basic myportname basic
acl port_both myportname both
acl port_manager myportname manager
access_log stdio:${accessLog} jaato !port_manager
auth_schemes negotiate port_negotiate
auth_schemes basic port_basic
auth_schemes negotiate,basic port_both
acl sent_basic req_header Proxy-Authorization -i ^basic
acl sent_negotiate req_header Proxy-Authorization -i ^negotiate
acl CONNECT method CONNECT
acl tunnel_ports port 443 ${o.connectPorts.join(' ')}
acl authenticated proxy_auth REQUIRED
http_access allow port_manager localhost manager
http_access deny port_manager
http_access deny CONNECT !tunnel_ports
http_access deny port_negotiate sent_basic
http_access deny port_basic sent_negotiate
http_access allow authenticated
http_access deny all
deny_info 407:ERR_CACHE_ACCESS_DENIED sent_basic
deny_info 407:ERR_CACHE_ACCESS_DENIED sent_negotiate
`,
  );
  const env = {
    ...process.env,
    KRB5_CONFIG: o.krb5Conf,
    KRB5_KTNAME: o.keytab,
    KRB5RCACHEDIR: p('rcache'),
  };
  await run('squid', ['-k', 'parse', '-f', conf], { env });
  const launch = async (): Promise<ChildProcess> => {
    const child = startService('squid', ['-N', '-n', o.name, '-f', conf], p('squid.out'), { env });
    for (const port of [negotiate, basic, both, manager]) await waitForPort(port, 'Squid', 10_000, [cacheLog, p('squid.out')], child);
    return child;
  };
  return { process: await launch(), relaunch: launch, ports: { negotiate, basic, both }, managerPort: manager, accessLog, cacheLog };
}

/**
 * Requests Squid is serving now (tunnels open included, idle kept-alive connections not), from its
 * cache manager's active_requests page, asked on the manager's own port (`managerPort`: loopback
 * clients, no authentication, nothing else served, not written to the access log); the page's own
 * request is not counted.
 */
export async function squidActiveRequests(port: number): Promise<number> {
  const page = await rawGet(port, '/squid-internal-mgr/active_requests');
  if (!/^HTTP\/1\.[01] 200 /.test(page)) throw new Error(`Squid's active_requests page: ${page.slice(0, 200)}`);
  // One `uri` line per request in progress; this page's own is one of them.
  return (page.match(/^uri .*$/gm) ?? []).filter((line) => !line.includes('/squid-internal-mgr/')).length;
}

export interface AccessLogEntry {
  port: number;
  method: string;
  url: string;
  status: number;
  /** The authenticated user, or `-`. */
  user: string;
  squidStatus: string;
  /** The client's port: entries with the same one came on the same TCP connection. */
  clientPort: number;
}

/** Squid's access log in the lab's own format (see `logformat jaato`). */
export function readAccessLog(path: string): AccessLogEntry[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [, port = '0', method = '', url = '', status = '0', user = '-', squidStatus = '', clientPort = '0'] = line.split(/\s+/);
      return { port: Number(port), method, url, status: Number(status), user, squidStatus, clientPort: Number(clientPort) };
    });
}
