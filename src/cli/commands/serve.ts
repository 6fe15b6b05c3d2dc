import { parseArgs } from 'node:util';
import { startLocalProxy, type AccessLogEntry } from '../../server/local-proxy.js';
import { explain } from '../../config/explain.js';
import { bold, dim } from '../style.js';
import { EXIT, UsageError } from '../errors.js';

export const SERVE_HELP = `Usage: jaato-proxy serve [--port 3128] [--host 127.0.0.1] [--allow <ip|cidr>]... [--proxy <url>] [--quiet]

A local forward proxy (absolute-form HTTP and CONNECT) for tools that cannot do Negotiate: point their
HTTP(S)_PROXY at it. Requests are routed like the library routes them (bypass lists honoured) and
authenticated upstream with a fresh Negotiate token per upstream connection. Only loopback clients are
served unless --allow names more. One log line per request: time client method host route status
bytes ms. Ctrl-C (SIGINT) or SIGTERM stops it, closing tunnels in flight.

  --proxy <url>   the upstream (corporate) proxy, instead of HTTPS_PROXY/HTTP_PROXY
  --quiet         no access log`;

export function formatAccessLog(e: AccessLogEntry): string {
  return `${new Date().toISOString()} ${e.client} ${e.method} ${e.host} ${e.route} ${e.status} ${e.bytes}B ${e.ms}ms`;
}

export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      allow: { type: 'string', multiple: true },
      proxy: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(`${SERVE_HELP}\n`), EXIT.ok;
  const port = values.port === undefined ? 3128 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port "${values.port}" is not a port number`);
  const server = await startLocalProxy({
    port,
    ...(values.host && { host: values.host }),
    ...(values.allow && { allow: values.allow }),
    ...(values.proxy && { proxy: values.proxy }),
    ...(!values.quiet && { log: (e: AccessLogEntry) => void process.stdout.write(`${formatAccessLog(e)}\n`) }),
  });
  const upstream = explain('https://example.com/', process.env, values.proxy ? { proxy: values.proxy } : {});
  process.stdout.write(`${bold('jaato-proxy serve')} listening on ${server.url} ${dim(`(upstream: ${upstream.proxy ?? 'none, direct'}; auth ${upstream.auth})`)}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.stdout.write(`${dim('stopped')}\n`);
  return EXIT.ok;
}
