import { runDoctor, type Check, type DoctorReport } from '../../diagnostics/doctor.js';
import { integerOption, parseCommand } from '../args.js';
import { CA_OPTION, PROXY_OPTIONS, proxyRouting, readCa } from '../proxy-options.js';
import { dim, FAIL, OK, yellow } from '../style.js';
import { EXIT } from '../errors.js';

export const DOCTOR_HELP = `Usage: jaato-proxy doctor [url] [--json] [-x <proxy>] [--cacert <file>] [--proxy-cacert <file>] [--timeout <ms>]

Checks, in order: the proxy variables, the bypass lists, the route for the URL, Kerberos (switch,
addon, who holds which credentials and where they come from, the SPN, a real token), then each proxy
(the URL's, or without a URL every configured one): a request without credentials, to see what it
offers, and one with them, to see it accept them; with a URL, the URL fetched through it. Each line
✓/✗ with the remedy. Exit code 1 when a check fails.

  -x, --proxy <url>       the proxy for every scheme, instead of HTTPS_PROXY/HTTP_PROXY ("" for none)
      --cacert <file>     trust this CA (PEM) for the origin, in addition to the defaults
      --proxy-cacert <f>  trust this CA (PEM) for an https:// proxy, in addition to the defaults
      --timeout <ms>      limit on connecting to the proxy and on its answers (default 10000)
      --json              one object: ok, url, checks, proxies, kerberos (see the README)`;

const OPTIONS = {
  json: { type: 'boolean' },
  ...PROXY_OPTIONS,
  ...CA_OPTION,
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const MARK: Record<Check['status'], () => string> = { ok: OK, fail: FAIL, warn: () => yellow('!'), skip: () => dim('-') };

/** The report with every key present: a check without a remedy has `remedy: null`. */
export function stableReport(report: DoctorReport): unknown {
  const { ok, url, checks, proxies, kerberos } = report;
  return {
    ok,
    url,
    checks: checks.map(({ name, status, detail, remedy }) => ({ name, status, detail, remedy: remedy ?? null })),
    proxies: proxies.map(({ proxy, variables, reachable, status, offers, authenticated }) => ({ proxy, variables, reachable, status, offers, authenticated })),
    kerberos: { enabled: kerberos.enabled, spn: kerberos.spn, spnSource: kerberos.spnSource, principal: kerberos.principal, credentials: kerberos.credentials, token: kerberos.token },
  };
}

export async function doctorCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('doctor', args, OPTIONS, { max: 1, what: 'at most one URL' });
  if (values.help) return void process.stdout.write(`${DOCTOR_HELP}\n`), EXIT.ok;
  const timeout = integerOption(values.timeout, '--timeout', 'a number of milliseconds (1 or more)', 1);
  const report = await runDoctor(positionals[0], {
    ...proxyRouting(values.proxy),
    ...(values.cacert !== undefined && { ca: readCa(values.cacert, '--cacert', EXIT.failure) }),
    ...(values['proxy-cacert'] !== undefined && { proxyCa: readCa(values['proxy-cacert'], '--proxy-cacert', EXIT.failure) }),
    ...(timeout !== undefined && { connectTimeout: timeout }),
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
