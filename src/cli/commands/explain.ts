import { isIP } from 'node:net';
import { localProxyNote } from '../../adapters/local-proxy-net.js';
import { explain } from '../../config/explain.js';
import { IP_SPN_HINT } from '../../diagnostics/advice.js';
import { parseCommand } from '../args.js';
import { bold, dim, yellow } from '../style.js';
import { EXIT, UsageError } from '../errors.js';

export const EXPLAIN_HELP = `Usage: jaato-proxy explain <url> [--json]

How the URL would be routed with the current environment: direct or which proxy (credentials
masked), the rule that decided, the auth and SPN that would be used, and every configuration warning.
Exit code 1 when the URL cannot be routed (a malformed proxy variable, a URL that does not parse).

  --json   the same as JSON, one object whose keys are always all present (null where they do not
           apply): url, route (direct|proxy|error), rule, proxy, auth (negotiate|basic|none), spn,
           spnSource, basicFallback, error ({code, message}), warnings (array of strings)`;

export function explainCommand(args: string[]): number {
  const { values, positionals } = parseCommand('explain', args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, { max: 1, what: 'one URL' });
  if (values.help) return void process.stdout.write(`${EXPLAIN_HELP}\n`), EXIT.ok;
  const url = positionals[0];
  if (!url) throw new UsageError('explain needs a URL, e.g. jaato-proxy explain https://api.anthropic.com/');
  const e = explain(url);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(e, null, 2)}\n`);
    return e.route === 'error' ? EXIT.failure : EXIT.ok;
  }
  const lines = [bold(e.url)];
  if (e.route === 'error') lines.push(`  route:   cannot route: ${e.rule}`);
  else if (e.route === 'direct') lines.push('  route:   direct');
  else lines.push(`  route:   proxy ${e.proxy}`);
  if (e.route !== 'error') lines.push(`  rule:    ${e.rule}`);
  if (e.route === 'proxy') {
    const note = localProxyNote(process.env, e.proxy);
    if (note) lines.push(`  note:    ${note}`);
    lines.push(`  auth:    ${e.auth}${e.basicFallback ? ' (Basic credentials as fallback)' : ''}`);
    if (e.spn) lines.push(`  spn:     ${e.spn} ${dim(`(${e.spnSource})`)}`);
    // A KDC names services after host names: an address as the proxy's host gives a name it never has.
    if (e.spnSource === 'proxy host' && e.proxy && isIP(new URL(e.proxy).hostname.replace(/^\[|\]$/g, '')) !== 0) {
      lines.push(`  ${yellow('hint:')}    ${IP_SPN_HINT}`);
    }
  }
  for (const w of e.warnings) lines.push(`  ${yellow('warning:')} ${w}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return e.route === 'error' ? EXIT.failure : EXIT.ok;
}
