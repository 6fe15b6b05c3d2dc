import { isIP } from 'node:net';
import { localProxyNote } from '../../install/local-proxy-net.js';
import { explainWithPac } from '../../pac/pac-explain.js';
import { systemSettingsFor } from '../../system/system-source.js';
import { IP_SPN_HINT } from '../../diagnostics/advice.js';
import { parseCommand } from '../args.js';
import { bold, dim, yellow } from '../style.js';
import { EXIT, UsageError } from '../errors.js';

export const EXPLAIN_HELP = `Usage: jaato-proxy explain <url> [--pac <location>] [--json]

How the URL would be routed with the current environment: direct or which proxy (credentials
masked), the rule that decided, the auth and SPN that would be used, and every configuration warning.
With a PAC (JAATO_PAC_URL or --pac), the PAC is fetched and asked as a request would ask it: its raw
answer and the entries in the order they would be tried are shown, the first one as the route.
With no proxy variable set, the OS's proxy settings (GNOME, KDE, macOS, Windows, WPAD) are the source,
and the rule names them.
Exit code 1 when the URL cannot be routed (a malformed proxy variable, a URL that does not parse, a PAC
that cannot be loaded or gives no usable answer).

  --pac <location>  a PAC file (http(s)://, file:// or a path) instead of JAATO_PAC_URL
  --json   the same as JSON, one object whose keys are always all present (null where they do not
           apply): url, route (direct|proxy|error), rule, proxy, auth (negotiate|basic|none), spn,
           spnSource, basicFallback, authChoice, error ({code, message}), warnings (array of strings),
           pac (null without a PAC; else {url, source, answer, entries, skipped})`;

export async function explainCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('explain', args, { json: { type: 'boolean' }, pac: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, { max: 1, what: 'one URL' });
  if (values.help) return void process.stdout.write(`${EXPLAIN_HELP}\n`), EXIT.ok;
  const url = positionals[0];
  if (!url) throw new UsageError('explain needs a URL, e.g. jaato-proxy explain https://api.anthropic.com/');
  const system = systemSettingsFor(process.env, { ...(values.pac !== undefined && { pac: values.pac }) });
  const e = await explainWithPac(url, process.env, { ...(values.pac !== undefined && { pac: values.pac }), ...(system && { system }) });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(e, null, 2)}\n`);
    return e.route === 'error' ? EXIT.failure : EXIT.ok;
  }
  const lines = [bold(e.url)];
  if (e.route === 'error') lines.push(`  route:   cannot route: ${e.rule}`);
  else if (e.route === 'direct') lines.push('  route:   direct');
  else lines.push(`  route:   proxy ${e.proxy}`);
  if (e.route !== 'error') lines.push(`  rule:    ${e.rule}`);
  if (system) lines.push(`  source:  ${system.source}, mode ${system.mode} ${dim('(the OS\'s proxy settings; JAATO_SYSTEM_PROXY=off turns them off)')}`);
  if (e.pac) {
    lines.push(`  pac:     ${e.pac.url} ${dim(`(${e.pac.source})`)}`);
    if (e.pac.answer === null && e.route !== 'error') lines.push('  answer:  not asked: a bypass rule decided first');
    else if (e.pac.answer !== null) lines.push(`  answer:  "${e.pac.answer}"`, `  tries:   ${e.pac.entries.join(', ')}`);
    for (const s of e.pac.skipped) lines.push(`  ${yellow('skipped:')} ${s}`);
  }
  if (e.route === 'proxy') {
    const note = localProxyNote(process.env, e.proxy);
    if (note) lines.push(`  note:    ${note}`);
    lines.push(`  auth:    ${e.auth}${e.basicFallback ? ' (Basic credentials as fallback)' : ''}`);
    if (e.authChoice) lines.push(`  scheme:  ${e.authChoice}`);
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
