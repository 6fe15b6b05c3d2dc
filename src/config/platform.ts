/**
 * What differs between operating systems on the Kerberos path, in one table: the library the `kerberos`
 * addon calls, how it wants the proxy's service named, and what to tell a user when it fails. Everything
 * that builds or shows a service name, or chooses a remedy, asks `kerberosPlatform()`; the platform is an
 * input (default `process.platform`) so every row is tested on any machine.
 */

/** The failures a user can do something about, plus the rest; each has its own error class and code. */
export type KerberosProblem = 'noCredentials' | 'expired' | 'kdcUnreachable' | 'unknownSpn' | 'clockSkew' | 'other' | 'addonMissing';

export interface KerberosPlatform {
  /** What the addon calls, for messages: `SSPI` or `GSSAPI`. */
  readonly api: 'SSPI' | 'GSSAPI';
  /** The implementation, for documentation and doctor: e.g. `GSS.framework (Heimdal)`. */
  readonly library: string;
  /**
   * Between service and host in the name the addon is given. SSPI's InitializeSecurityContext takes an
   * SPN, `HTTP/host`; the addon's GSSAPI side imports the name as a host-based service name
   * (`gss_nt_service_name` in `kerberos/src/unix/kerberos_gss.cc`), `HTTP@host`, and refuses the slash.
   */
  readonly separator: '/' | '@';
  /** Why a realm (`HTTP/host@REALM`) cannot be given, or undefined where it can (SSPI). */
  readonly realmRefused: string | undefined;
  /** Said after the problem, per problem: the platform's own tools and words. */
  readonly remedies: Readonly<Record<KerberosProblem, string>>;
}

const GSSAPI_NO_REALM =
  'the addon passes GSSAPI a host-based service name (HTTP@host), which has no realm part: the realm comes from ' +
  'the host, through krb5.conf [domain_realm]';

/** Linux and the other Unixes: MIT krb5 (the addon dlopens libgssapi_krb5.so.2), or Heimdal's tools beside it. */
const UNIX: KerberosPlatform = {
  api: 'GSSAPI',
  library: 'GSSAPI (MIT krb5)',
  separator: '@',
  realmRefused: GSSAPI_NO_REALM,
  remedies: {
    noCredentials: 'Run `kinit user@REALM` (check with `klist`)',
    expired: 'Renew it with `kinit` (or `kinit -R`)',
    kdcUnreachable: "Check the network/VPN and the realm's kdc entries in krb5.conf",
    unknownSpn:
      "If the proxy's principal differs from its host name, set JAATO_KERBEROS_SPN (or the `spn` option) to " +
      "HTTP@<name in the proxy's keytab>; `kvno HTTP/<host>` asks the KDC directly",
    clockSkew: "Sync this machine's clock (NTP: `timedatectl set-ntp true`, or chrony); Kerberos allows 5 minutes by default",
    other: 'Check the tickets with `klist`; KRB5_TRACE=/dev/stderr shows what the Kerberos library did',
    addonMissing:
      'Install it with `npm install kerberos`: prebuilt binaries (x64, arm64; glibc 2.28+) come from the addon\'s ' +
      'GitHub releases, otherwise it builds with a C++ compiler against the GSSAPI headers ' +
      '(Debian/Ubuntu: `apt-get install -y libkrb5-dev` first; Fedora/RHEL: krb5-devel)',
  },
};

/** macOS: the system's Heimdal-based Kerberos (GSS.framework), Ticket Viewer as its UI. */
const DARWIN: KerberosPlatform = {
  api: 'GSSAPI',
  library: 'GSS.framework (Heimdal)',
  separator: '@',
  realmRefused: GSSAPI_NO_REALM,
  remedies: {
    noCredentials: 'Run `kinit user@REALM` or get a ticket in Ticket Viewer (check with `klist`)',
    expired: 'Renew it with `kinit` (or `kinit -R`) or in Ticket Viewer',
    kdcUnreachable: "Check the network/VPN and the realm's kdc entries in /etc/krb5.conf (or KRB5_CONFIG)",
    unknownSpn:
      "If the proxy's principal differs from its host name, set JAATO_KERBEROS_SPN (or the `spn` option) to " +
      "HTTP@<name in the proxy's keytab>; `kgetcred HTTP/<host>` asks the KDC directly",
    clockSkew: 'Turn on "Set time and date automatically" (System Settings → General → Date & Time); Kerberos allows 5 minutes by default',
    other: 'Check the tickets with `klist` or in Ticket Viewer',
    addonMissing:
      'Install it with `npm install kerberos`: a prebuilt universal binary comes from the addon\'s GitHub releases, ' +
      'otherwise it builds with the Xcode Command Line Tools (`xcode-select --install`)',
  },
};

/** Windows: SSPI with the logged-on user's tickets; there is no kinit, the logon is the kinit. */
const WINDOWS: KerberosPlatform = {
  api: 'SSPI',
  library: 'SSPI (Negotiate package)',
  separator: '/',
  realmRefused: undefined,
  remedies: {
    noCredentials:
      'Sign in to Windows with a domain account (a local account has no Kerberos tickets) and check with `klist` in a ' +
      'console; after a password change, lock and unlock the session',
    expired: 'Windows renews the logon\'s tickets itself: lock and unlock the session (or sign out and in); `klist purge` in a console drops stale tickets',
    kdcUnreachable: 'No domain controller answered: check the network/VPN to the domain (`nltest /dsgetdc:<domain>` looks for one)',
    unknownSpn:
      'Set JAATO_KERBEROS_SPN (or the `spn` option) to HTTP/<name registered for the proxy> (`setspn -Q HTTP/<host>` ' +
      'finds it); `klist purge` in a console drops a stale cached ticket',
    clockSkew: 'Sync the clock with the domain: `w32tm /resync` in an elevated console',
    other: 'Run `klist` in a console to see the logon\'s tickets; `klist purge` drops them so Windows gets new ones',
    addonMissing:
      'Install it with `npm install kerberos`: a prebuilt x64 binary comes from the addon\'s GitHub releases, ' +
      'otherwise it builds with Visual Studio Build Tools (C++) and Python',
  },
};

/** The Kerberos conventions of a platform (`process.platform` unless told otherwise). */
export function kerberosPlatform(platform: NodeJS.Platform = process.platform): KerberosPlatform {
  if (platform === 'win32') return WINDOWS;
  if (platform === 'darwin') return DARWIN;
  return UNIX;
}
