/**
 * What differs between operating systems on the Kerberos path, in one table: the security library
 * jaato-proxy calls through koffi (src/auth/native), how it wants the proxy's service named, and what
 * to tell a user when it fails. Everything
 * that builds or shows a service name, or chooses a remedy, asks `kerberosPlatform()`; the platform is an
 * input (default `process.platform`) so every row is tested on any machine.
 */

/** The failures a user can do something about, plus the rest; each has its own error class and code. */
export type KerberosProblem =
  | 'noCredentials'
  | 'expired'
  | 'kdcUnreachable'
  | 'unknownSpn'
  | 'renamedSpn'
  | 'clockSkew'
  | 'accountDisabled'
  | 'accountExpired'
  | 'passwordExpired'
  | 'noCommonEnctype'
  | 'wrongKeyVersion'
  | 'other'
  | 'libraryMissing';

export interface KerberosPlatform {
  /** What the binding calls, for messages: `SSPI` or `GSSAPI`. */
  readonly api: 'SSPI' | 'GSSAPI';
  /** The implementation, for documentation and doctor: e.g. `GSS.framework (Heimdal)`. */
  readonly library: string;
  /**
   * Between service and host in the name the library is given. SSPI's InitializeSecurityContext takes an
   * SPN, `HTTP/host`; GSSAPI imports the name as a host-based service name (GSS_C_NT_HOSTBASED_SERVICE,
   * RFC 2743 4.1), `HTTP@host`.
   */
  readonly separator: '/' | '@';
  /** Why a realm (`HTTP/host@REALM`) cannot be given, or undefined where it can (SSPI). */
  readonly realmRefused: string | undefined;
  /** Said after the problem, per problem: the platform's own tools and words. */
  readonly remedies: Readonly<Record<KerberosProblem, string>>;
  /** The command that asks the KDC for a service ticket for `principal` (`HTTP/proxy.corp`), to try by hand. */
  readonly askKdc: (principal: string) => string;
}

const GSSAPI_NO_REALM =
  'GSSAPI is given a host-based service name (HTTP@host), which has no realm part: the realm comes from ' +
  'the host, through krb5.conf [domain_realm]';

/** MIT's default `rdns = true` (and `dns_canonicalize_hostname`) rewrites the name through DNS before the KDC sees it. */
const RENAMED =
  'The Kerberos library rewrote the name through DNS (a CNAME, or the PTR record of its address), and a JAATO_KERBEROS_SPN goes ' +
  'through the same rewriting: set `rdns = false` and `dns_canonicalize_hostname = false` in [libdefaults] of krb5.conf (KRB5_CONFIG names another)';

/** The KDC's answers about the account and keys, the same on every Kerberos client (measured against a Samba AD DC). */
const ACCOUNT = {
  accountDisabled:
    'The KDC refused the account (disabled, locked out, or outside its logon hours); `kinit` again shows its reason, and the ' +
    "domain's administrators can unlock it",
  accountExpired: "The account has expired in the KDC's database: ask the domain's administrators to extend it",
  passwordExpired: 'The password has expired: `kinit` asks for a new one (or change it as the domain says), then try again',
  noCommonEnctype:
    "This machine and the proxy's service account share no encryption type: compare krb5.conf's `permitted_enctypes` here with the " +
    "account's (Active Directory: msDS-SupportedEncryptionTypes); an AES-only domain needs AES on both sides",
  wrongKeyVersion:
    "The proxy's keytab is out of date: the KDC's key for its principal has another version or encryption type (the account's password " +
    "was reset?). The proxy's administrators must export a new keytab (`klist -ket` there shows what it holds)",
} as const;

/** Linux and the other Unixes: MIT krb5's libgssapi_krb5.so.2, else Heimdal's libgssapi.so.3. */
const UNIX: KerberosPlatform = {
  api: 'GSSAPI',
  library: 'GSSAPI (MIT krb5, or Heimdal)',
  separator: '@',
  realmRefused: GSSAPI_NO_REALM,
  remedies: {
    noCredentials: 'Run `kinit user@REALM` (check with `klist`)',
    expired: 'Get a new one with `kinit` (an expired ticket cannot be renewed)',
    kdcUnreachable: "Check the network/VPN and the realm's kdc entries in krb5.conf",
    unknownSpn: "If the proxy's principal differs from its host name, set JAATO_KERBEROS_SPN (or the `spn` option) to HTTP@<name in the proxy's keytab>",
    renamedSpn: RENAMED,
    clockSkew: "Sync this machine's clock (NTP: `timedatectl set-ntp true`, or chrony); Kerberos allows 5 minutes by default",
    ...ACCOUNT,
    other: 'Check the tickets with `klist`; KRB5_TRACE=/dev/stderr shows what the Kerberos library did',
    libraryMissing:
      "Install the system's Kerberos library: Debian/Ubuntu `apt-get install libgssapi-krb5-2`, Fedora/RHEL `dnf install krb5-libs` " +
      "(Heimdal's `libgssapi3-heimdal` works too); or set JAATO_GSSAPI_LIBRARY to its path (or `mit`, `heimdal`)",
  },
  askKdc: (principal) => `\`kvno ${principal}\` asks the KDC for it directly`,
};

/** macOS: the system's Heimdal-based Kerberos (GSS.framework), Ticket Viewer as its UI. */
const DARWIN: KerberosPlatform = {
  api: 'GSSAPI',
  library: 'GSS.framework (Heimdal)',
  separator: '@',
  realmRefused: GSSAPI_NO_REALM,
  remedies: {
    noCredentials: 'Run `kinit user@REALM` or get a ticket in Ticket Viewer (check with `klist`)',
    expired: 'Get a new one with `kinit` or in Ticket Viewer (an expired ticket cannot be renewed)',
    kdcUnreachable: "Check the network/VPN and the realm's kdc entries in /etc/krb5.conf (or KRB5_CONFIG)",
    unknownSpn: "If the proxy's principal differs from its host name, set JAATO_KERBEROS_SPN (or the `spn` option) to HTTP@<name in the proxy's keytab>",
    renamedSpn: RENAMED,
    clockSkew: 'Turn on "Set time and date automatically" (System Settings → General → Date & Time); Kerberos allows 5 minutes by default',
    ...ACCOUNT,
    other: 'Check the tickets with `klist` or in Ticket Viewer',
    libraryMissing: 'GSS.framework is part of macOS: check JAATO_GSSAPI_LIBRARY, which names another library when set',
  },
  askKdc: (principal) => `\`kgetcred ${principal}\` asks the KDC for it directly`,
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
    unknownSpn: 'Set JAATO_KERBEROS_SPN (or the `spn` option) to HTTP/<name registered for the proxy>; `klist purge` in a console drops a stale cached ticket',
    renamedSpn: 'Set JAATO_KERBEROS_SPN (or the `spn` option) to HTTP/<name registered for the proxy>',
    clockSkew: 'Sync the clock with the domain: `w32tm /resync` in an elevated console',
    accountDisabled: 'The domain refused the account (disabled, locked out, or outside its logon hours): ask the domain\'s administrators',
    accountExpired: 'The account has expired in the domain: ask the domain\'s administrators to extend it',
    passwordExpired: 'The password has expired: change it (Ctrl+Alt+Del, Change a password), then lock and unlock the session',
    noCommonEnctype:
      "This machine and the proxy's service account share no encryption type: the domain's administrators can compare the account's " +
      'msDS-SupportedEncryptionTypes with the policy "Network security: Configure encryption types allowed for Kerberos"',
    wrongKeyVersion: ACCOUNT.wrongKeyVersion,
    other: 'Run `klist` in a console to see the logon\'s tickets; `klist purge` drops them so Windows gets new ones',
    libraryMissing: 'secur32.dll is part of Windows: check JAATO_GSSAPI_LIBRARY, which names another library when set',
  },
  askKdc: (principal) => `\`setspn -Q ${principal}\` finds the account that has it`,
};

/** The Kerberos conventions of a platform (`process.platform` unless told otherwise). */
export function kerberosPlatform(platform: NodeJS.Platform = process.platform): KerberosPlatform {
  if (platform === 'win32') return WINDOWS;
  if (platform === 'darwin') return DARWIN;
  return UNIX;
}
