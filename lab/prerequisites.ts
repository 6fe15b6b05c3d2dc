import { accessSync, constants } from 'node:fs';
import { JaatoProxyError } from '../src/errors.js';

/** Each program the lab runs, where Debian puts it, and the package that brings it. */
const REQUIRED: ReadonlyArray<{ path: string; pkg: string }> = [
  { path: '/usr/sbin/krb5kdc', pkg: 'krb5-kdc' },
  { path: '/usr/sbin/kdb5_util', pkg: 'krb5-kdc' },
  { path: '/usr/sbin/kadmin.local', pkg: 'krb5-admin-server' },
  { path: '/usr/bin/kinit', pkg: 'krb5-user' },
  { path: '/usr/bin/klist', pkg: 'krb5-user' },
  { path: '/usr/bin/kdestroy', pkg: 'krb5-user' },
  { path: '/usr/sbin/squid', pkg: 'squid' },
  { path: '/usr/lib/squid/negotiate_kerberos_auth', pkg: 'squid' },
  { path: '/usr/lib/squid/basic_ncsa_auth', pkg: 'squid' },
  { path: '/usr/sbin/apache2', pkg: 'apache2' },
  { path: '/usr/lib/apache2/modules/mod_proxy_connect.so', pkg: 'apache2' },
  { path: '/usr/lib/apache2/modules/mod_auth_gssapi.so', pkg: 'libapache2-mod-auth-gssapi' },
  { path: '/usr/bin/openssl', pkg: 'openssl' },
];

export class LabSetupError extends JaatoProxyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_JAATO_LAB_SETUP', message, options);
  }
}

/** Throws a LabSetupError naming every missing Debian package and the command that installs them. */
export function checkLabPrerequisites(required: ReadonlyArray<{ path: string; pkg: string }> = REQUIRED): void {
  const missing = new Set<string>();
  for (const { path, pkg } of required) {
    try {
      // Programs must be executable; Apache's modules (.so) only readable.
      accessSync(path, path.endsWith('.so') ? constants.R_OK : constants.X_OK);
    } catch {
      missing.add(pkg);
    }
  }
  if (missing.size > 0) {
    const list = [...missing].join(' ');
    throw new LabSetupError(
      `The Kerberos lab needs Debian packages that are not installed: ${list}. ` +
        `Install them with: apt-get update && apt-get install -y ${list}`,
    );
  }
}
