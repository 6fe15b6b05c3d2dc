import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort, run, startService, waitForPort } from './processes.js';

export interface KdcOptions {
  dir: string;
  realm: string;
  user: string;
  password: string;
  /** Service principals (e.g. `HTTP/localhost`) written into `keytab`. */
  keytabPrincipals: readonly string[];
  /** Service principals the KDC knows but the keytab does not hold. */
  extraPrincipals: readonly string[];
  keytab: string;
}

export interface Kdc {
  port: number;
  process: ChildProcess;
  /** Starts krb5kdc again on the same port and database (after it was stopped). */
  relaunch(): Promise<ChildProcess>;
  /** KRB5_CONFIG / KRB5_KDC_PROFILE / KRB5CCNAME pointing into the lab directory. */
  env: Record<string, string>;
  krb5Conf: string;
}

/** Writes krb5.conf and kdc.conf, creates the realm's database, principals and keytab, starts krb5kdc. */
export async function startKdc(o: KdcOptions): Promise<Kdc> {
  const port = await freePort();
  const p = (name: string): string => join(o.dir, name);
  const krb5Conf = p('krb5.conf');
  writeKrb5Conf(krb5Conf, o.realm, port);
  // max_renewable_life 7d, as Active Directory's default (7 days): a client gets a renewable TGT only
  // when it asks for one (kinit -r; the lab's krb5.conf asks for none), but a Squid forwarder's
  // `cache_peer ... login=NEGOTIATE` does, and with 0 here it found its TGT "not renewable" on every
  // request and fetched a new one from the keytab (AS-REQ with preauth, then a TGS-REQ: 3-8 ms on
  // Squid's one thread per forwarded request, ~120-380 req/s; bench/README.md).
  writeFileSync(
    p('kdc.conf'),
    `[kdcdefaults]
  kdc_listen = 127.0.0.1:${port}
  kdc_tcp_listen = 127.0.0.1:${port}
[realms]
  ${o.realm} = {
    database_name = ${p('principal')}
    key_stash_file = ${p('stash')}
    acl_file = ${p('kadm5.acl')}
    max_life = 10h
    max_renewable_life = 7d
  }
`,
  );
  writeFileSync(p('kadm5.acl'), '');
  const env: Record<string, string> = {
    KRB5_CONFIG: krb5Conf,
    KRB5_KDC_PROFILE: p('kdc.conf'),
    KRB5CCNAME: `FILE:${p('ccache')}`,
  };
  const childEnv = { ...process.env, ...env };
  // The master password protects a database that lives for one lab run only.
  await run('kdb5_util', ['create', '-s', '-r', o.realm, '-P', 'lab-master-key'], { env: childEnv });
  const commands = [
    `addprinc +requires_preauth -pw ${o.password} ${o.user}@${o.realm}`,
    ...[...o.keytabPrincipals, ...o.extraPrincipals].map((sp) => `addprinc -randkey ${sp}@${o.realm}`),
    ...o.keytabPrincipals.map((sp) => `ktadd -norandkey -k ${o.keytab} ${sp}@${o.realm}`),
  ];
  await run('kadmin.local', ['-r', o.realm], { env: childEnv, input: commands.join('\n') + '\n' });
  const log = p('kdc.log');
  const launch = async (): Promise<ChildProcess> => {
    const child = startService('krb5kdc', ['-n', '-r', o.realm], log, { env: childEnv });
    await waitForPort(port, 'krb5kdc', 5000, [log], child);
    return child;
  };
  return { port, process: await launch(), relaunch: launch, env, krb5Conf };
}

/** Client configuration: no DNS, no canonicalisation, TCP only, so the SPN is exactly what is asked. */
export function writeKrb5Conf(path: string, realm: string, kdcPort: number): void {
  writeFileSync(
    path,
    `[libdefaults]
  default_realm = ${realm}
  dns_lookup_realm = false
  dns_lookup_kdc = false
  rdns = false
  dns_canonicalize_hostname = false
  udp_preference_limit = 1
  forwardable = false
[realms]
  ${realm} = {
    kdc = 127.0.0.1:${kdcPort}
  }
[domain_realm]
  localhost = ${realm}
`,
  );
}
