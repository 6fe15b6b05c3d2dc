import { createWriteStream, readFileSync } from 'node:fs';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createFetch } from '../../adapters/fetch.js';
import { explain } from '../../config/explain.js';
import { debugChannel } from '../../debug.js';
import { unwrapError } from '../../errors.js';
import { dim } from '../style.js';
import { EXIT, UsageError } from '../errors.js';

export const FETCH_HELP = `Usage: jaato-proxy fetch <url> [options]

A curl-like client on the library: routing, Negotiate and the 407 handler as every adapter does.

  -X, --request <method>   HTTP method (default GET, or POST with --data)
  -H, --header <h: v>      extra request header (repeatable)
  -d, --data <data>        request body; @file reads it from a file
  -o, --output <file>      write the body to a file instead of stdout
  -i, --include            print the response status and headers first
  -v, --verbose            show the route and the proxy exchange on stderr (tokens are never shown)
      --cacert <file>      trust this CA for the origin (PEM)
      --timeout <ms>       connect / CONNECT timeout (default 10000)`;

export async function fetchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      request: { type: 'string', short: 'X' },
      header: { type: 'string', short: 'H', multiple: true },
      data: { type: 'string', short: 'd' },
      output: { type: 'string', short: 'o' },
      include: { type: 'boolean', short: 'i' },
      verbose: { type: 'boolean', short: 'v' },
      cacert: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(`${FETCH_HELP}\n`), EXIT.ok;
  const url = positionals[0];
  if (!url) throw new UsageError('fetch needs a URL, e.g. jaato-proxy fetch https://api.anthropic.com/');
  const headers = new Headers();
  for (const h of values.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header "${h}" is not of the form "Name: value"`);
    headers.append(h.slice(0, colon).trim(), h.slice(colon + 1).trim());
  }
  const body = values.data === undefined ? undefined : values.data.startsWith('@') ? readFileSync(values.data.slice(1)) : values.data;
  const method = values.request ?? (body !== undefined ? 'POST' : 'GET');
  const say = (line: string): void => void process.stderr.write(`${dim(line)}\n`);
  const onEvent = (m: unknown): void => say(`* ${(m as { message: string }).message}`);
  if (values.verbose) {
    const e = explain(url);
    say(`* route: ${e.route}${e.proxy ? ` via ${e.proxy}` : ''} (${e.rule}); auth ${e.auth}${e.spn ? `, SPN ${e.spn}` : ''}`);
    subscribe(debugChannel.name, onEvent);
  }
  const fetch = createFetch({
    ...(values.cacert && { ca: readFileSync(values.cacert, 'utf8') }),
    ...(values.timeout && { connectTimeout: Number(values.timeout) }),
  });
  try {
    if (values.verbose) say(`> ${method} ${url}`);
    const res = await fetch(url, { method, headers, ...(body !== undefined && { body }) }).catch((error: unknown) => {
      throw unwrapError(error);
    });
    if (values.verbose) say(`< ${res.status} ${res.statusText}`);
    if (values.include) {
      process.stdout.write(`HTTP ${res.status} ${res.statusText}\n`);
      for (const [k, v] of res.headers) process.stdout.write(`${k}: ${v}\n`);
      process.stdout.write('\n');
    }
    if (res.body) {
      const sink = values.output ? createWriteStream(values.output) : process.stdout;
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), sink, { end: values.output !== undefined });
    }
    return res.ok ? EXIT.ok : EXIT.failure;
  } finally {
    if (values.verbose) unsubscribe(debugChannel.name, onEvent);
    await fetch.dispatcher.close();
  }
}
