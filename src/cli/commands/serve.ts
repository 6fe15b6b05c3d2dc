import { startLocalProxy, type AccessLogEntry, type LocalProxy } from '../../server/local-proxy.js';
import { allowWarnings, parseAllowEntry } from '../../server/allow-list.js';
import { CLIENT_USER, newClientCredential, withCredential } from '../../server/client-credential.js';
import { clientSettings, writeSettingsFile } from '../../server/client-settings.js';
import { InvalidOptionError } from '../../config/errors.js';
import { explain } from '../../config/explain.js';
import { pacSetting } from '../../pac/pac-route.js';
import { systemPac } from '../../config/system/settings.js';
import { systemSettingsFor } from '../../system/system-source.js';
import { redactUrl } from '../../redact.js';
import { printable } from '../../debug.js';
import { bold, dim } from '../style.js';
import { EXIT, UsageError } from '../errors.js';
import { parseCommand } from '../args.js';
import { PROXY_OPTIONS, proxyRouting, readCa } from '../proxy-options.js';

export const SERVE_HELP = `Usage: jaato-proxy serve [--port 3128] [--host 127.0.0.1] [--allow <ip|cidr>]... [-x <url> | --pac <location>] [--proxy-cacert <file>] [--allow-any-local-user] [--quiet]

A local forward proxy (absolute-form HTTP and CONNECT) for tools that cannot do Negotiate: point their
HTTP(S)_PROXY at it. Requests are routed like the library routes them (bypass lists honoured) and
authenticated upstream with a fresh Negotiate token per upstream connection. Only loopback clients are
served unless --allow names more (a warning on stderr for any range beyond loopback). Requests to
serve itself, an upstream that leads back to it, and requests that come round again (its Via mark)
are refused. One log line per request: time client method host route status
bytes ms. Ctrl-C (SIGINT) or SIGTERM stops it, closing tunnels in flight.

Clients must send a random credential made for this run (Basic Proxy-Authorization, user "${CLIENT_USER}"),
else 407: loopback is shared by every account on the machine, and serve authenticates upstream as
you. At start serve prints the settings for your tools (export HTTPS_PROXY=http://${CLIENT_USER}:<secret>@...)
and writes them to $XDG_RUNTIME_DIR/jaato-proxy/serve-<port>.env (else <tmpdir>/jaato-proxy-<uid>/),
readable by you only, removed when serve stops: \`. <file>\` in a shell.

  -x, --proxy <url>          the upstream (corporate) proxy, instead of HTTPS_PROXY/HTTP_PROXY
      --pac <location>       a PAC file (http(s)://, file:// or a path) that chooses the upstream per
                             request, instead of JAATO_PAC_URL; its entries are tried in order
      --proxy-cacert <file>  trust this CA (PEM) for an https:// upstream proxy, in addition to the defaults
      --allow-any-local-user no client credential: every account on this machine (and every --allow
                             client) can use your proxy identity; only for a single-user machine
      --quiet                no access log`;

const NOT_AUTHORIZED =
  'jaato-proxy: serve needs the credential it printed at start (the export lines, or the serve-<port>.env file it named): another local account cannot use it';

/** The origin clients use: a wildcard listener is reached on loopback. */
function clientOrigin(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

export function formatAccessLog(e: AccessLogEntry): string {
  // The reason is serve's own 502 text: redacted like every message, on one line.
  const reason = e.reason ? ` (${printable(e.reason)})` : '';
  return `${new Date().toISOString()} ${e.client} ${e.method} ${e.host} ${e.route} ${e.status} ${e.bytes}B ${e.ms}ms${reason}`;
}

/** The library names its options (`allow`); on the command line they are flags (`-x` is named as such already). */
function asCliOption(error: unknown): unknown {
  const flags: Record<string, string> = { allow: '--allow' };
  if (!(error instanceof InvalidOptionError) || !flags[error.option]) return error;
  return new InvalidOptionError(flags[error.option] as string, error.message.slice(error.option.length + 2));
}

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  allow: { type: 'string', multiple: true },
  pac: { type: 'string' },
  ...PROXY_OPTIONS,
  quiet: { type: 'boolean' },
  'allow-any-local-user': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseCommand('serve', args, OPTIONS, { max: 0 });
  if (values.help) return void process.stdout.write(`${SERVE_HELP}\n`), EXIT.ok;
  const port = values.port === undefined ? 3128 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port "${values.port}" is not a port number`);
  const routing = proxyRouting(values.proxy);
  const open = values['allow-any-local-user'] === true;
  const credential = open ? undefined : newClientCredential();
  let server: LocalProxy;
  try {
    server = await startLocalProxy({
      port,
      ...(values.host && { host: values.host }),
      ...(values.allow && { allow: values.allow }),
      ...routing,
      ...(values.pac !== undefined && { pac: values.pac }),
      ...(credential !== undefined && { clientCredential: credential, clientRealm: 'jaato-proxy serve', clientHint: NOT_AUTHORIZED }),
      ...(values['proxy-cacert'] !== undefined && { proxyCa: readCa(values['proxy-cacert'], '--proxy-cacert', EXIT.failure) }),
      ...(!values.quiet && { log: (e: AccessLogEntry) => void process.stdout.write(`${formatAccessLog(e)}\n`) }),
    });
  } catch (error) {
    // The one listen error a user can fix from the command line: say how.
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`port ${port} is in use: choose another with --port`, { cause: error });
    throw asCliOption(error);
  }
  // Loud, at start: whoever --allow admits uses the proxy identity of the user who runs serve.
  for (const warning of allowWarnings((values.allow ?? []).map(parseAllowEntry))) process.stderr.write(`jaato-proxy serve: WARNING: ${warning}\n`);
  // With no -x, --pac or proxy variable, the OS's settings: as the server itself routes (routing/routing.ts).
  const system = systemSettingsFor(process.env, { ...routing, ...(values.pac !== undefined && { pac: values.pac }) });
  const pac = pacSetting(values.pac) ?? systemPac(system);
  const upstream = explain('https://example.com/', process.env, { ...routing, ...(system && { system }) });
  const described = `${pac ? `PAC ${redactUrl(pac.url)}` : `${upstream.proxy ?? 'none, direct'}; auth ${upstream.auth}`}${system ? `; from ${system.source}` : ''}`;
  const banner = `${bold('jaato-proxy serve')} listening on ${server.url} ${dim(`(upstream: ${described})`)}\n`;
  let settings: { path: string; remove(): void } | undefined;
  if (credential === undefined) {
    process.stderr.write(`jaato-proxy serve: WARNING: --allow-any-local-user: no client credential; every account on this machine can use your proxy identity through ${server.url}\n`);
    process.stdout.write(`${banner}client auth: none (--allow-any-local-user)\n`);
  } else {
    const lines = clientSettings(withCredential(clientOrigin(server.url), credential));
    try {
      settings = writeSettingsFile(server.port, lines);
    } catch (error) {
      await server.close();
      throw error;
    }
    // One write: a reader that waits for the banner has the settings in the same chunk.
    process.stdout.write(
      `${banner}client auth: required (a credential made for this run; other local accounts get 407). For your tools:\n` +
        `${lines.map((l) => `  ${l}`).join('\n')}\n${dim(`(also in ${settings.path}, readable by you only)`)}\n`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      settings?.remove();
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.stdout.write(`${dim('stopped')}\n`);
  return EXIT.ok;
}
