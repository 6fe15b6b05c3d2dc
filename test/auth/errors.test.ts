import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyGssError,
  KerberosClockSkewError,
  KerberosError,
  KerberosKdcUnreachableError,
  KerberosNoCredentialsError,
  KerberosTicketExpiredError,
  KerberosUnknownSpnError,
} from '../../src/auth/errors.js';
import { kerberosPlatform, type KerberosProblem } from '../../src/config/platform.js';

type Expected = typeof KerberosNoCredentialsError | typeof KerberosTicketExpiredError | typeof KerberosKdcUnreachableError | typeof KerberosUnknownSpnError | typeof KerberosClockSkewError | undefined;

interface Sample {
  platform: NodeJS.Platform;
  /** The Error message the addon hands to JS. */
  text: string;
  /** Where the text comes from. */
  source: string;
  expected: Expected;
  /** What the remedy must say on that platform. */
  remedy: RegExp;
}

// How the addon builds the message (kerberos@7.0.0):
// - SSPI: `${function}: ${FormatMessageA(status)}` — src/win32/kerberos_sspi.cc, sspi_error_result();
//   FormatMessage texts end in CRLF, and the SEC_E_* name and number are not in the message. The texts
//   are winerror.h's MessageText for each code (Microsoft, [MS-ERREF] 2.1 "HRESULT Values" and "COM
//   Error Codes (Security and Setup)").
// - GSSAPI: `${major}: ${minor}` from gss_display_status — src/unix/kerberos_gss.cc, gss_error_result().
//   Heimdal (macOS GSS.framework) prints the major as "%s %s" with an empty calling-error part, hence
//   the leading space (lib/gssapi/mech/gss_display_status.c).
const SSPI = 'kerberos/src/win32/kerberos_sspi.cc sspi_error_result + winerror.h MessageText';
const HEIMDAL_MAJOR = 'Heimdal lib/gssapi/mech/gss_display_status.c routine_error()';

const SAMPLES: readonly Sample[] = [
  // Windows (SSPI): never kinit.
  { platform: 'win32', text: 'AcquireCredentialsHandle: No credentials are available in the security package\r\n', source: `${SSPI}: SEC_E_NO_CREDENTIALS 0x8009030E`, expected: KerberosNoCredentialsError, remedy: /domain account.*`klist` in a console/ },
  { platform: 'win32', text: 'InitializeSecurityContext: No credentials are available in the security package\r\n', source: `${SSPI}: SEC_E_NO_CREDENTIALS 0x8009030E`, expected: KerberosNoCredentialsError, remedy: /lock and unlock/ },
  { platform: 'win32', text: 'InitializeSecurityContext: The logon attempt failed\r\n', source: `${SSPI}: SEC_E_LOGON_DENIED 0x8009030C`, expected: KerberosNoCredentialsError, remedy: /domain account/ },
  { platform: 'win32', text: 'InitializeSecurityContext: The specified target is unknown or unreachable\r\n', source: `${SSPI}: SEC_E_TARGET_UNKNOWN 0x80090303`, expected: KerberosUnknownSpnError, remedy: /JAATO_KERBEROS_SPN .*HTTP\/<name registered for the proxy>.*setspn -Q/ },
  { platform: 'win32', text: 'InitializeSecurityContext: The target principal name is incorrect.\r\n', source: `${SSPI}: SEC_E_WRONG_PRINCIPAL 0x80090322`, expected: KerberosUnknownSpnError, remedy: /klist purge/ },
  { platform: 'win32', text: 'InitializeSecurityContext: The clocks on the client and server machines are skewed.\r\n', source: `${SSPI}: SEC_E_TIME_SKEW 0x80090324`, expected: KerberosClockSkewError, remedy: /w32tm \/resync/ },
  { platform: 'win32', text: 'InitializeSecurityContext: No authority could be contacted for authentication.\r\n', source: `${SSPI}: SEC_E_NO_AUTHENTICATING_AUTHORITY 0x80090311`, expected: KerberosKdcUnreachableError, remedy: /domain controller/ },
  { platform: 'win32', text: 'InitializeSecurityContext: The context has expired and can no longer be used.\r\n', source: `${SSPI}: SEC_E_CONTEXT_EXPIRED 0x80090317`, expected: KerberosTicketExpiredError, remedy: /lock and unlock.*klist purge/ },
  { platform: 'win32', text: 'InitializeSecurityContext failed: SEC_E_TARGET_UNKNOWN (0x80090303) - The specified target is unknown or unreachable', source: 'the name-and-number form other SSPI callers print (curl lib/strerror.c Curl_sspi_strerror)', expected: KerberosUnknownSpnError, remedy: /setspn/ },
  { platform: 'win32', text: 'InitializeSecurityContext: 0x80090324', source: 'the number alone, as a wrapper may print it', expected: KerberosClockSkewError, remedy: /w32tm/ },
  // FormatMessage failed (or a text in another language): the addon keeps the function name only.
  { platform: 'win32', text: 'InitializeSecurityContext', source: `${SSPI}: the message when FormatMessageA fails`, expected: undefined, remedy: /`klist` in a console.*`klist purge`/ },

  // macOS (GSS.framework, Heimdal).
  { platform: 'darwin', text: ' No credentials were supplied, or the credentials were unavailable or inaccessible.: No credentials cache file found', source: `${HEIMDAL_MAJOR} GSS_S_NO_CRED + lib/krb5/krb5_err.et KRB5_FCC_NOFILE`, expected: KerberosNoCredentialsError, remedy: /kinit user@REALM.*Ticket Viewer/ },
  { platform: 'darwin', text: 'No credentials cache file found', source: 'Heimdal lib/krb5/krb5_err.et KRB5_FCC_NOFILE (macOS klist: "krb5_cc_get_principal: No credentials cache file found")', expected: KerberosNoCredentialsError, remedy: /Ticket Viewer/ },
  { platform: 'darwin', text: ' Miscellaneous failure (see text): Server (HTTP/proxy.corp@CORP.EXAMPLE) unknown', source: `${HEIMDAL_MAJOR} GSS_S_FAILURE + lib/krb5/rd_error.c KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN "Server (%s) unknown"`, expected: KerberosUnknownSpnError, remedy: /HTTP@<name in the proxy's keytab>.*kgetcred/ },
  { platform: 'darwin', text: ' Miscellaneous failure (see text): unable to reach any KDC in realm CORP.EXAMPLE', source: `${HEIMDAL_MAJOR} + lib/krb5/send_to_kdc.c KRB5_KDC_UNREACH "unable to reach any KDC in realm %s"`, expected: KerberosKdcUnreachableError, remedy: /\/etc\/krb5\.conf/ },
  { platform: 'darwin', text: ' Miscellaneous failure (see text): Clock skew too great', source: 'Heimdal lib/krb5/krb5_err.et KRB5KRB_AP_ERR_SKEW', expected: KerberosClockSkewError, remedy: /Date & Time/ },
  { platform: 'darwin', text: ' Miscellaneous failure (see text): time skew (412) larger than max (300)', source: 'Heimdal lib/krb5/ticket.c KRB5KRB_AP_ERR_SKEW "time skew (%ld) larger than max (%ld)"', expected: KerberosClockSkewError, remedy: /Set time and date automatically/ },
  { platform: 'darwin', text: ' The context has expired: unknown mech-code 0 for mech unknown', source: 'Heimdal lib/gssapi/krb5/init_sec_context.c (GSS_S_CONTEXT_EXPIRED, minor 0, when the ticket has no lifetime left) + gss_display_status.c', expected: KerberosTicketExpiredError, remedy: /kinit.*Ticket Viewer/ },
  { platform: 'darwin', text: ' The referenced credentials have expired: Ticket expired', source: `${HEIMDAL_MAJOR} GSS_S_CREDENTIALS_EXPIRED + krb5_err.et KRB5KRB_AP_ERR_TKT_EXPIRED`, expected: KerberosTicketExpiredError, remedy: /kinit -R/ },

  // Linux, MIT krb5 1.20: the first four are real, recorded in the lab (shared/notes/kerberos-lab.md).
  { platform: 'linux', text: 'No credentials were supplied, or the credentials were unavailable or inaccessible: SPNEGO cannot find mechanisms to negotiate', source: 'lab, MIT 1.20.1: empty ccache', expected: KerberosNoCredentialsError, remedy: /^Run `kinit user@REALM` \(check with `klist`\)$/ },
  { platform: 'linux', text: "Unspecified GSS failure.  Minor code may provide more information: Cannot contact any KDC for realm 'TEST.LAB'", source: 'lab, MIT 1.20.1: KDC down, no service ticket cached', expected: KerberosKdcUnreachableError, remedy: /krb5\.conf/ },
  { platform: 'linux', text: 'Unspecified GSS failure.  Minor code may provide more information: Server HTTP/wronghost@TEST.LAB not found in Kerberos database', source: 'lab, MIT 1.20.1: unknown SPN', expected: KerberosUnknownSpnError, remedy: /HTTP@<name in the proxy's keytab>.*kvno/ },
  { platform: 'linux', text: 'Unspecified GSS failure.  Minor code may provide more information: Ticket expired', source: 'lab, MIT 1.20.1: expired TGT', expected: KerberosTicketExpiredError, remedy: /kinit -R/ },
  { platform: 'linux', text: 'Unspecified GSS failure.  Minor code may provide more information: Clock skew too great', source: 'MIT src/lib/krb5/error_tables/krb5_err.et KRB5KRB_AP_ERR_SKEW', expected: KerberosClockSkewError, remedy: /NTP/ },
  { platform: 'linux', text: 'No credentials were supplied, or the credentials were unavailable or inaccessible: No Kerberos credentials available (default cache: FILE:/tmp/krb5cc_1000)', source: 'MIT src/lib/krb5/ccache/cccursor.c', expected: KerberosNoCredentialsError, remedy: /kinit/ },
  { platform: 'linux', text: "No credentials were supplied, or the credentials were unavailable or inaccessible: Can't find client principal bob@CORP.EXAMPLE in cache collection", source: 'MIT src/lib/krb5/ccache/cccursor.c (the `principal` option, not in the cache)', expected: KerberosNoCredentialsError, remedy: /kinit/ },
  { platform: 'linux', text: "No credentials were supplied, or the credentials were unavailable or inaccessible: Cannot contact any KDC for realm 'CORP.EXAMPLE'", source: 'MIT g_dsp_status.c GSS_S_NO_CRED + sendto_kdc.c (client keytab, KDC down): the minor decides', expected: KerberosKdcUnreachableError, remedy: /network\/VPN/ },
  { platform: 'linux', text: 'The referenced credential has expired: Ticket expired', source: 'MIT src/lib/gssapi/mechglue/g_dsp_status.c GSS_S_CREDENTIALS_EXPIRED', expected: KerberosTicketExpiredError, remedy: /kinit/ },
  { platform: 'linux', text: 'Unspecified GSS failure.  Minor code may provide more information: Decrypt integrity check failed', source: 'MIT krb5_err.et KRB5KRB_AP_ERR_BAD_INTEGRITY: no class of its own', expected: undefined, remedy: /klist.*KRB5_TRACE/ },
];

test('SSPI, Heimdal and MIT texts map to the same typed errors, with the platform\'s remedy', () => {
  for (const s of SAMPLES) {
    const e = classifyGssError('HTTP/proxy.corp', new Error(s.text), s.platform);
    const label = `${s.platform}: ${JSON.stringify(s.text)} (${s.source})`;
    assert.ok(e instanceof KerberosError, label);
    if (s.expected) assert.ok(e instanceof s.expected, `${label} → ${e.name}`);
    else assert.equal(e.code, 'ERR_JAATO_KERBEROS', `${label} → ${e.name}`);
    assert.match(e.remedy ?? '', s.remedy, label);
    assert.ok(e.message.includes(e.remedy ?? '\u0000'), `${label}: the message carries the remedy`);
    assert.equal(e.gssMessage, s.text.trim(), label);
    assert.ok(!e.message.includes('\r'), `${label}: no CRLF in the message`);
    assert.match(e.message, new RegExp(`\\(${kerberosPlatform(s.platform).api}: `), `${label}: labelled with the library`);
    if (s.platform === 'win32') assert.doesNotMatch(e.message, /kinit/, `${label}: Windows has no kinit`);
  }
  // Every class is reached from every platform's samples.
  for (const platform of ['win32', 'darwin', 'linux'] as const) {
    const codes = new Set(SAMPLES.filter((s) => s.platform === platform).map((s) => classifyGssError('x', new Error(s.text), platform).code));
    for (const code of ['NO_CREDENTIALS', 'TICKET_EXPIRED', 'KDC_UNREACHABLE', 'UNKNOWN_SPN', 'CLOCK_SKEW']) assert.ok(codes.has(`ERR_JAATO_KERBEROS_${code}`), `${platform}: ${code}`);
  }
});

test('the clock-skew class: its own code and a remedy per platform', () => {
  const e = classifyGssError('HTTP@proxy.corp', new Error('Clock skew too great'), 'linux');
  assert.ok(e instanceof KerberosClockSkewError);
  assert.equal(e.code, 'ERR_JAATO_KERBEROS_CLOCK_SKEW');
  assert.equal(e.name, 'KerberosClockSkewError');
  assert.match(e.message, /^Kerberos could not make a token for HTTP@proxy\.corp: this machine's clock and the KDC's differ/);
});

test('remedies fit the platform: no kinit on Windows, Ticket Viewer on macOS, kinit/klist on Linux', () => {
  const problems: KerberosProblem[] = ['noCredentials', 'expired', 'kdcUnreachable', 'unknownSpn', 'clockSkew', 'other', 'addonMissing'];
  for (const problem of problems) {
    assert.doesNotMatch(kerberosPlatform('win32').remedies[problem], /kinit|krb5\.conf|HTTP@/, `win32 ${problem}`);
    assert.ok(kerberosPlatform('linux').remedies[problem] !== kerberosPlatform('win32').remedies[problem], problem);
  }
  assert.match(kerberosPlatform('darwin').remedies.noCredentials, /Ticket Viewer/);
  assert.match(kerberosPlatform('linux').remedies.noCredentials, /kinit.*klist/);
  assert.match(kerberosPlatform('win32').remedies.addonMissing, /prebuilt x64 binary.*Visual Studio Build Tools/);
  assert.match(kerberosPlatform('darwin').remedies.addonMissing, /universal binary.*xcode-select --install/);
  assert.match(kerberosPlatform('linux').remedies.addonMissing, /libkrb5-dev/);
  // The timeout variant of the KDC error says what happened and keeps the platform's remedy.
  const t = new KerberosKdcUnreachableError('HTTP/proxy.corp', '', undefined, 'win32', { ms: 3000 });
  assert.equal(t.timeoutMs, 3000);
  assert.match(t.message, /no answer from the Kerberos library within 3000 ms \(tokenTimeout\).*domain controller/);
  assert.doesNotMatch(t.message, /\(SSPI: /, 'no library text when there is none');
});
