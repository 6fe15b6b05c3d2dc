import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort, rawGet, run, startService, waitForPort } from './processes.js';

export const APACHE = '/usr/sbin/apache2';
/** mod_status's page (not a proxied URL, not logged): how many requests Apache is serving now. */
const STATUS_PATH = '/jaato-lab-status';
const MODULES = '/usr/lib/apache2/modules';

export interface ApacheOptions {
  dir: string;
  keytab: string;
  krb5Conf: string;
  /** Ports CONNECT may reach (AllowCONNECT); every other CONNECT is refused. */
  connectPorts: readonly number[];
}

export interface Apache {
  process: ChildProcess;
  /** Starts httpd again with the same configuration and port (after it was killed). */
  relaunch(): Promise<ChildProcess>;
  port: number;
  accessLog: string;
  errorLog: string;
}

/**
 * Apache httpd 2.4 + mod_auth_gssapi as a forward proxy: the per-request Negotiate family. Left in
 * mod_auth_gssapi's default mode on purpose (GssapiConnectionBound off): every request needs a fresh
 * token, a replayed one is refused, and forwarded 200s carry the server's reply token (CONNECT answers
 * do not). Its own config and logs in the lab directory; never the system service.
 */
export async function startApache(o: ApacheOptions): Promise<Apache> {
  const port = await freePort();
  const p = (name: string): string => join(o.dir, name);
  const root = p('apache');
  const rcache = join(root, 'rcache');
  mkdirSync(rcache, { recursive: true });
  // httpd opens its logs as root, then serves as www-data: only the replay cache must be theirs to write,
  // and the keytab theirs to read.
  chmodSync(rcache, 0o777);
  chmodSync(o.keytab, 0o644);
  const accessLog = join(root, 'access.log');
  const errorLog = join(root, 'error.log');
  const conf = join(root, 'httpd.conf');
  const modules = ['mpm_event', 'authn_core', 'authz_core', 'authz_host', 'authz_user', 'auth_gssapi', 'proxy', 'proxy_http', 'proxy_connect', 'status', 'setenvif'];
  // Both processes from the start and never stopped for being idle (MaxSpareThreads = all threads):
  // with one process the event MPM closed kept-alive connections under 32 clients and stopped its
  // second process again later, and a request arriving on such a connection failed ("closed in the
  // middle of the exchange": 36 and 6 of 20,000 forwarded GETs at concurrency 32; 2 of 80,000 with this).
  // The log line matches Squid's `logformat jaato` field for field (see readAccessLog), with Apache's
  // connection status (%X: + kept alive, - closed, X aborted) where Squid puts its result code.
  writeFileSync(
    conf,
    `ServerRoot ${root}
${modules.map((m) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`).join('\n')}
User www-data
Group www-data
ServerName jaato-lab-apache
Listen 127.0.0.1:${port}
PidFile ${join(root, 'httpd.pid')}
DefaultRuntimeDir ${root}
Mutex file:${root} default
ErrorLog ${errorLog}
LogLevel warn
LogFormat "%{sec}t.%{msec_frac}t %{local}p %m %U%q %>s %u APACHE_%X %{remote}p" jaato
SetEnvIf Request_URI "^${STATUS_PATH}$" jaato_lab_status
CustomLog ${accessLog} jaato env=!jaato_lab_status
<Location "${STATUS_PATH}">
  SetHandler server-status
  Require ip 127.0.0.1
</Location>
StartServers 2
ServerLimit 2
ThreadsPerChild 32
MaxRequestWorkers 64
MinSpareThreads 4
MaxSpareThreads 64
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 15
Timeout 30
ProxyRequests On
ProxyVia On
AllowCONNECT 443 ${o.connectPorts.join(' ')}
<Proxy "*">
  AuthType GSSAPI
  AuthName "jaato-lab"
  GssapiCredStore keytab:${o.keytab}
  GssapiBasicAuth Off
  Require valid-user
</Proxy>
`,
  );
  const env = { ...process.env, KRB5_CONFIG: o.krb5Conf, KRB5_KTNAME: o.keytab, KRB5RCACHEDIR: rcache };
  await run(APACHE, ['-t', '-f', conf], { env });
  const launch = async (): Promise<ChildProcess> => {
    // A killed httpd leaves its pid file; a new one would refuse to start over it.
    rmSync(join(root, 'httpd.pid'), { force: true });
    const child = startService(APACHE, ['-DFOREGROUND', '-f', conf], join(root, 'httpd.out'), { env });
    await waitForPort(port, 'Apache httpd', 10_000, [errorLog, join(root, 'httpd.out')], child);
    return child;
  };
  return { process: await launch(), relaunch: launch, port, accessLog, errorLog };
}


/**
 * Requests Apache is serving now (tunnels open included; with the event MPM an idle kept-alive
 * connection holds no worker), from mod_status; the status request itself is not counted.
 */
export async function apacheActiveRequests(port: number): Promise<number> {
  const page = await rawGet(port, `${STATUS_PATH}?auto`);
  const busy = /^BusyWorkers: (\d+)$/m.exec(page);
  if (!busy) throw new Error(`Apache's status page: ${page.slice(0, 200)}`);
  return Math.max(0, Number(busy[1]) - 1);
}
