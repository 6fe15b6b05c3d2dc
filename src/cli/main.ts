#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { JaatoProxyError } from '../errors.js';
import { doctorCommand } from './commands/doctor.js';
import { explainCommand } from './commands/explain.js';
import { fetchCommand } from './commands/fetch.js';
import { serveCommand } from './commands/serve.js';
import { EXIT, UsageError } from './errors.js';

const USAGE = `Usage: jaato-proxy <command> [options]

Commands:
  explain <url>   how a URL would be routed, and the rule that decided
  doctor [url]    check the whole chain: variables, Kerberos ticket and token, the proxy, the URL
  fetch <url>     a curl-like client through the proxy (-v shows the proxy exchange)
  serve           a local proxy that authenticates upstream, for tools without Negotiate
  demo            start the embedded Kerberos lab and walk through it

Options: -h/--help (also after a command), -V/--version, --debug (stack traces on errors).
Debug log: NODE_DEBUG=jaato-proxy. Exit codes: 0 success, 1 failure, 2 usage error.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The demo and the lab it starts are loaded only for `demo`: no other command pays for them, and the
 * published package leaves them out (package.json `files`), so there they are absent.
 */
async function demo(): Promise<number> {
  const demoUrl = new URL('./demo.js', import.meta.url);
  if (!existsSync(demoUrl)) {
    process.stderr.write('jaato-proxy: the demo is not part of the installed package; it runs from a clone of the repository: `bash scripts/setup.sh && npm run demo`\n');
    return EXIT.failure;
  }
  const { runDemo } = (await import(demoUrl.href)) as typeof import('./demo.js');
  await runDemo();
  return EXIT.ok;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      process.stderr.write(`${USAGE}\n`);
      return EXIT.usage;
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    case '-V':
    case '--version':
      process.stdout.write(`${version()}\n`);
      return EXIT.ok;
    case 'explain':
      return explainCommand(rest);
    case 'doctor':
      return doctorCommand(rest);
    case 'fetch':
      return fetchCommand(rest);
    case 'serve':
      return serveCommand(rest);
    case 'demo':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write('Usage: jaato-proxy demo\n\nStarts the embedded lab (MIT KDC, Squid with Negotiate, origins) and walks through it.\nIt runs from a clone of the repository (`bash scripts/setup.sh && npm run demo`), not from the installed package.\n');
        return EXIT.ok;
      }
      return demo();
    default:
      throw new UsageError(`unknown command "${command}" (see jaato-proxy --help)`);
  }
}

const debugFlag = process.argv.includes('--debug');
main(process.argv.slice(2).filter((a) => a !== '--debug')).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // One clear line on stderr; the stack only with --debug.
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`jaato-proxy: ${(error as Error).message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    const message = error instanceof JaatoProxyError ? `${error.message} [${error.code}]` : error instanceof Error ? error.message : String(error);
    process.stderr.write(`jaato-proxy: ${message}\n`);
    if (debugFlag && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = EXIT.failure;
  },
);
