import { runDoctor, type Check, type DoctorReport } from '../../diagnostics/doctor.js';
import { parseCommand } from '../args.js';
import { CA_OPTION, connectTimeoutOf, ROUTE_AND_TRUST_HELP, PROXY_OPTIONS, ROUTE_OPTIONS, routeFromOptions, trustFromOptions } from '../proxy-options.js';
import { dim, FAIL, OK, yellow } from '../style.js';
import { EXIT } from '../errors.js';

export const DOCTOR_HELP = `Usage: jaato-proxy doctor [url] [--pac <location>] [--json] [fetch's proxy and trust options]

Checks, in order: the proxy variables, the bypass lists, the route for the URL, Kerberos (switch,
library (MIT, Heimdal, GSS.framework or SSPI), who holds which credentials and where they come from, the SPN, a real token), then each proxy
(the URL's, or without a URL every configured one): a request without credentials, to see what it
offers, and one with them, to see it accept them; with a URL, the URL fetched through it. Each line
With a PAC (JAATO_PAC_URL or --pac): the PAC loaded and compiled, its answer for the URL (without
one, for https://example.com/) and the entry a request ends on, then each proxy it names.
✓/✗ with the remedy. Exit code 1 when a check fails. The options mean what they do in fetch, so
doctor checks the setup a fetch command line uses.

${ROUTE_AND_TRUST_HELP}
      --pac <location>        a PAC file (http(s)://, file:// or a path) instead of JAATO_PAC_URL
      --connect-timeout <s>   limit on connecting to the proxy and on its answers
      --timeout <ms>          the same in milliseconds (default 10000)
      --require-mutual-auth   the proxy must prove itself with a Negotiate reply token (requireMutualAuth):
                              a path where it sends none fails, with which proxies send one
      --json                  one object: ok, url, checks, proxies, kerberos, pac (see the README)`;

const OPTIONS = {
  json: { type: 'boolean' },
  'require-mutual-auth': { type: 'boolean' },
  pac: { type: 'string' },
  ...PROXY_OPTIONS,
  ...ROUTE_OPTIONS,
  ...CA_OPTION,
  help: { type: 'boolean', short: 'h' },
} as const;

const MARK: Record<Check['status'], () => string> = { ok: OK, fail: FAIL, warn: () => yellow('!'), skip: () => dim('-') };

/** The report with every key present: a check without a remedy has `remedy: null`. */
export function stableReport(report: DoctorReport): unknown {
  const { ok, url, checks, proxies, kerberos, pac } = report;
  return {
    ok,
    url,
    checks: checks.map(({ name, status, detail, remedy }) => ({ name, status, detail, remedy: remedy ?? null })),
    proxies: proxies.map(({ proxy, variables, reachable, status, offers, authenticated, authMode, connectReplyToken, forwardedReplyToken }) => ({
      proxy,
      variables,
      reachable,
      status,
      offers,
      authenticated,
      authMode,
      connectReplyToken,
      forwardedReplyToken,
    })),
    kerberos: { enabled: kerberos.enabled, spn: kerberos.spn, spnSource: kerberos.spnSource, principal: kerberos.principal, credentials: kerberos.credentials, token: kerberos.token },
    pac: pac && { url: pac.url, source: pac.source, fetched: pac.fetched, bytes: pac.bytes, asked: pac.asked, answer: pac.answer, entries: pac.entries, skipped: pac.skipped, chosen: pac.chosen },
  };
}

export async function doctorCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('doctor', args, OPTIONS, { max: 1, what: 'at most one URL' });
  if (values.help) return void process.stdout.write(`${DOCTOR_HELP}\n`), EXIT.ok;
  const timeout = connectTimeoutOf(values);
  const report = await runDoctor(positionals[0], {
    ...routeFromOptions(values, process.env),
    // -x "": doctor says the variables were set aside, and by what.
    ...(values.proxy === '' && { noProxySource: '-x ""' }),
    ...(values['proxy-negotiate'] && { kerberosSource: '--proxy-negotiate' }),
    ...(values['proxy-anyauth'] && { kerberosSource: '--proxy-anyauth' }),
    ...trustFromOptions(values, EXIT.failure),
    ...(timeout !== undefined && { connectTimeout: timeout }),
    ...(values['require-mutual-auth'] && { requireMutualAuth: true }),
    ...(values.pac !== undefined && { pac: values.pac, pacSource: '--pac' }),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(stableReport(report), null, 2)}\n`);
  } else {
    for (const c of report.checks) {
      process.stdout.write(`${MARK[c.status]()} ${c.name.padEnd(16)} ${c.detail}\n`);
      if (c.remedy && c.status !== 'ok') process.stdout.write(`  ${' '.repeat(16)} ${dim(`→ ${c.remedy}`)}\n`);
    }
  }
  return report.ok ? EXIT.ok : EXIT.failure;
}
