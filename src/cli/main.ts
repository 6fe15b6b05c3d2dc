#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { explain } from '../config/explain.js';
import { JaatoProxyError } from '../errors.js';
import { runDemo } from './demo.js';
import { bold, dim, yellow } from './style.js';

const USAGE = `Usage: jaato-proxy <command> [options]

Commands:
  explain <url>   How a URL would be routed, and the rule that decided (--json)
  demo            Start the embedded Kerberos lab and walk through it

Options:
  -h, --help      Show help
  -v, --version   Show the version
  --debug         Show stack traces on errors

Exit codes: 0 success, 1 failure, 2 usage error.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  switch (command) {
    case 'explain':
      return explainCommand(rest);
    case 'demo':
      await runDemo();
      return 0;
    default:
      throw new UsageError(`unknown command "${command}" (see jaato-proxy --help)`);
  }
}

function explainCommand(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write('Usage: jaato-proxy explain <url> [--json]\n');
    return 0;
  }
  const url = positionals[0];
  if (!url) throw new UsageError('explain needs a URL, e.g. jaato-proxy explain https://api.anthropic.com/');
  const e = explain(url);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(e, null, 2)}\n`);
    return e.route === 'error' ? 1 : 0;
  }
  const lines = [`${bold(e.url)}`];
  if (e.route === 'error') lines.push(`  route:   cannot route: ${e.rule}`);
  else if (e.route === 'direct') lines.push('  route:   direct');
  else lines.push(`  route:   proxy ${e.proxy}`);
  lines.push(`  rule:    ${e.rule}`);
  if (e.route === 'proxy') {
    lines.push(`  auth:    ${e.auth}${e.basicFallback ? ' (Basic credentials as fallback)' : ''}`);
    if (e.spn) lines.push(`  spn:     ${e.spn} ${dim(`(${e.spnSource})`)}`);
  }
  for (const w of e.warnings) lines.push(`  ${yellow('warning:')} ${w}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return e.route === 'error' ? 1 : 0;
}

const debugFlag = process.argv.includes('--debug');
main(process.argv.slice(2).filter((a) => a !== '--debug')).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`jaato-proxy: ${(error as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    const message = error instanceof JaatoProxyError ? `${error.message} [${error.code}]` : error instanceof Error ? error.message : String(error);
    process.stderr.write(`jaato-proxy: ${message}\n`);
    if (debugFlag && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  },
);
