import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runDoctor, type Check } from '../../diagnostics/doctor.js';
import { dim, FAIL, OK, yellow } from '../style.js';
import { EXIT } from '../errors.js';

export const DOCTOR_HELP = `Usage: jaato-proxy doctor [url] [--json] [--cacert <file>] [--timeout <ms>]

Checks, in order: the proxy variables, the bypass lists, the route for the URL, Kerberos (switch,
addon, ticket and its expiry, SPN, a real token), what the proxy demands (a real unauthenticated
request) and the URL fetched through it. Each line ✓/✗ with the remedy. Exit code 1 when a check fails.`;

const MARK: Record<Check['status'], () => string> = { ok: OK, fail: FAIL, warn: () => yellow('!'), skip: () => dim('-') };

export async function doctorCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, cacert: { type: 'string' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void process.stdout.write(`${DOCTOR_HELP}\n`), EXIT.ok;
  const checks = await runDoctor(positionals[0], {
    ...(values.cacert && { ca: readFileSync(values.cacert, 'utf8') }),
    ...(values.timeout && { connectTimeout: Number(values.timeout) }),
  });
  const failed = checks.some((c) => c.status === 'fail');
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ok: !failed, checks }, null, 2)}\n`);
  } else {
    for (const c of checks) {
      process.stdout.write(`${MARK[c.status]()} ${c.name.padEnd(16)} ${c.detail}\n`);
      if (c.remedy && c.status !== 'ok') process.stdout.write(`  ${' '.repeat(16)} ${dim(`→ ${c.remedy}`)}\n`);
    }
  }
  return failed ? EXIT.failure : EXIT.ok;
}
