import { JaatoProxyError } from '../errors.js';

/**
 * A Kerberos/SPNEGO failure. Each subclass has its own `code` and a message that says what to do;
 * `gssMessage` keeps the GSSAPI text for diagnosis (it names principals, never holds a token).
 */
export class KerberosError extends JaatoProxyError {
  readonly spn: string;
  readonly gssMessage: string;
  constructor(code: string, spn: string, advice: string, gssMessage: string, cause?: unknown) {
    super(code, `Kerberos could not make a token for ${spn}: ${advice}${gssMessage ? ` (GSSAPI: ${gssMessage})` : ''}`, { cause });
    this.spn = spn;
    this.gssMessage = gssMessage;
  }
}

export class KerberosAddonMissingError extends KerberosError {
  constructor(spn: string, cause?: unknown) {
    super('ERR_JAATO_KERBEROS_ADDON_MISSING', spn, addonAdvice(cause), '', cause);
  }
}

/**
 * `kerberos` is an optional peer dependency: the application installs it, only when its proxy wants
 * Negotiate. Absent, or present without its native binary (npm 11+ skips install scripts it has not
 * been told to allow), call for different remedies.
 */
function addonAdvice(cause: unknown): string {
  const text = cause instanceof Error ? (cause.message.split('\n')[0] ?? '') : '';
  const build =
    'Where the addon has no prebuilt binary it compiles, with a C/C++ toolchain and the Kerberos headers ' +
    '(Debian/Ubuntu: `apt-get install -y libkrb5-dev`; RHEL/Fedora: `dnf install krb5-devel`)';
  if ((cause as { code?: string } | undefined)?.code === 'ERR_MODULE_NOT_FOUND' && /['"]kerberos['"]/.test(text)) {
    return `the optional peer dependency "kerberos" is not installed. Install it beside jaato-proxy with \`npm install kerberos\`. ${build}`;
  }
  return (
    `the "kerberos" package did not load${text ? ` (${text})` : ''}. If npm skipped its install script, allow it and build it: ` +
    `\`npm install-scripts approve kerberos && npm rebuild kerberos\`. ${build}`
  );
}

export class KerberosNoCredentialsError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown) {
    super('ERR_JAATO_KERBEROS_NO_CREDENTIALS', spn, 'there is no Kerberos ticket. Run `kinit user@REALM` (check with `klist`)', gss, cause);
  }
}

export class KerberosTicketExpiredError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown) {
    super('ERR_JAATO_KERBEROS_TICKET_EXPIRED', spn, 'the Kerberos ticket has expired. Renew it with `kinit` (or `kinit -R`)', gss, cause);
  }
}

export class KerberosKdcUnreachableError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown) {
    super(
      'ERR_JAATO_KERBEROS_KDC_UNREACHABLE',
      spn,
      'no KDC could be reached to get a service ticket. Check the network/VPN and the realm\'s kdc entries in krb5.conf',
      gss,
      cause,
    );
  }
}

export class KerberosUnknownSpnError extends KerberosError {
  constructor(spn: string, gss: string, cause?: unknown) {
    super(
      'ERR_JAATO_KERBEROS_UNKNOWN_SPN',
      spn,
      'the KDC does not know this service principal. If the proxy\'s principal differs from its host name, ' +
        'set JAATO_KERBEROS_SPN (or the `spn` option) to HTTP@<name in the proxy\'s keytab>',
      gss,
      cause,
    );
  }
}

/** Maps a GSSAPI failure text to the typed error that says what to do about it. */
export function classifyGssError(spn: string, error: unknown): KerberosError {
  const text = error instanceof Error ? error.message : String(error);
  if (/ticket expired|credentials have expired/i.test(text)) return new KerberosTicketExpiredError(spn, text, error);
  if (/cannot contact any kdc|cannot find kdc|kdc.*unreachable/i.test(text)) return new KerberosKdcUnreachableError(spn, text, error);
  if (/not found in kerberos database|server not found|unknown server/i.test(text)) return new KerberosUnknownSpnError(spn, text, error);
  if (/no credentials were supplied|no kerberos credentials|credentials cache .*not found|cannot find mechanisms/i.test(text)) {
    return new KerberosNoCredentialsError(spn, text, error);
  }
  return new KerberosError('ERR_JAATO_KERBEROS', spn, 'GSSAPI failed', text, error);
}
