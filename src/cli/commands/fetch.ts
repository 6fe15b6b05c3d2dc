import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createFetch, type ProxiedFetch } from '../../adapters/fetch.js';
import type { ProxyDispatcherOptions } from '../../adapters/undici/proxy-dispatcher.js';
import { basicAuthorization } from '../../auth/basic.js';
import { explain } from '../../config/explain.js';
import { debugChannel } from '../../debug.js';
import { JaatoProxyError } from '../../errors.js';
import { redactUrl } from '../../redact.js';
import { integerOption, optionLabel, parseCommand, secondsOption } from '../args.js';
import { CommandFailure, EXIT, UsageError } from '../errors.js';
import { CA_OPTION, connectTimeoutOf, ROUTE_AND_TRUST_HELP, credentialsOf, PROXY_OPTIONS, ROUTE_OPTIONS, routeFromOptions, trustFromOptions } from '../proxy-options.js';
import { stderrStyle } from '../style.js';
import { exitCodeFor, failureMessage, FETCH_EXIT } from '../fetch/exit-codes.js';
import { CREDENTIAL_HEADERS, DataFileError, isRedirect, redirectHop, requestBody, type DataPart, type RequestBody } from '../fetch/request.js';
import { formatWriteOut, type TransferReport } from '../fetch/write-out.js';

export const FETCH_HELP = `Usage: jaato-proxy fetch <url> [options]

A curl-like client on the library: routing, Negotiate and the 407 handler as every adapter does. The
options are curl's, with curl's meaning; a URL without a scheme is http://, as in curl.

  -X, --request <method>      HTTP method (default GET; POST with data; HEAD with -I)
  -H, --header <h: v>         request header (repeatable); replaces one the options set (-A, the data's
                              content type); "Name:" with no value removes that one
  -d, --data <data>           form data (application/x-www-form-urlencoded); @file reads a file without
                              its newlines, @- stdin; repeated: joined with &
      --data-raw <data>       the same, @ not special
      --data-binary <data>    data sent as is (@file as is)
      --json <data>           JSON body (@file), with content-type and accept application/json
  -u, --user <user:password>  Basic credentials for the origin (not sent on to another host)
  -A, --user-agent <name>     User-Agent
  -o, --output <file>         write the body to a file instead of stdout
  -i, --include               print the status line and headers before the body
  -I, --head                  HEAD request: print the status line and headers only
  -L, --location              follow redirects (off by default: the 3xx is printed)
      --max-redirs <n>        with -L, at most n redirects (default 50; -1: no limit)
  -f, --fail                  exit 22, no body, on an HTTP status >= 400
  -s, --silent                no error messages;  -S, --show-error: error messages even with -s
  -w, --write-out <format>    print after the transfer: %{http_code} %{response_code} %{size_download}
                              %{size_upload} %{time_total} %{url_effective} %{content_type}
                              %{num_redirects} %{redirect_url} %{exitcode} %{errormsg} %{method},
                              \\n \\t \\r escapes; @file reads the format from a file
  -m, --max-time <seconds>    limit on the whole transfer (fractions allowed); exit 28
      --connect-timeout <s>   limit on connecting (proxy, CONNECT, TLS through the tunnel); exit 28
      --timeout <ms>          the same in milliseconds (jaato-proxy's own; default 10000)
${ROUTE_AND_TRUST_HELP}
  -v, --verbose               the route and the proxy exchange on stderr (tokens are never shown)

Exit codes (curl's): 0 ok, 1 other failure (proxy authentication too), 2 usage, 3 bad URL,
5 proxy host not found, 6 host not found, 7 cannot connect, 22 HTTP error with -f, 23 cannot write
the output, 26 cannot read a data file, 28 timeout, 35 TLS handshake, 47 too many redirects,
56 connection broken or tunnel refused, 60 certificate not trusted, 77 CA file unreadable.`;

const OPTIONS = {
  request: { type: 'string', short: 'X' },
  header: { type: 'string', short: 'H', multiple: true },
  data: { type: 'string', short: 'd', multiple: true },
  'data-raw': { type: 'string', multiple: true },
  'data-binary': { type: 'string', multiple: true },
  json: { type: 'string', multiple: true },
  user: { type: 'string', short: 'u' },
  'user-agent': { type: 'string', short: 'A' },
  output: { type: 'string', short: 'o' },
  include: { type: 'boolean', short: 'i' },
  head: { type: 'boolean', short: 'I' },
  location: { type: 'boolean', short: 'L' },
  'max-redirs': { type: 'string' },
  fail: { type: 'boolean', short: 'f' },
  silent: { type: 'boolean', short: 's' },
  'show-error': { type: 'boolean', short: 'S' },
  'write-out': { type: 'string', short: 'w' },
  'max-time': { type: 'string', short: 'm' },
  ...PROXY_OPTIONS,
  ...ROUTE_OPTIONS,
  ...CA_OPTION,
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

const DATA_KINDS = new Set<string>(['data', 'data-raw', 'data-binary', 'json']);
const DEFAULT_MAX_REDIRS = 50;

/** `@-` is stdin, as in curl. */
function readArgFile(path: string): Buffer {
  return readFileSync(path === '-' ? 0 : path);
}

/** The target as curl takes it: `http://` when there is no scheme; credentials in it become -u. */
function targetUrl(raw: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (error) {
    throw new CommandFailure(FETCH_EXIT.badUrl, `the URL "${redactUrl(withScheme)}" does not parse`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CommandFailure(FETCH_EXIT.failure, `protocol "${url.protocol.slice(0, -1)}" is not supported: fetch speaks http and https`);
  }
  return url;
}

/**
 * The request's headers: what the options imply (the data's content type, -A, -u), then -H, which
 * replaces one of those (the first time a name is given; later ones add) or, as `Name:`, removes it.
 */
function requestHeaders(lines: readonly string[], implied: { payload: RequestBody | undefined; userAgent: string | undefined; credentials: { username: string; password: string } | undefined }): Headers {
  const headers = new Headers();
  if (implied.payload) headers.set('content-type', implied.payload.contentType);
  if (implied.payload?.accept) headers.set('accept', implied.payload.accept);
  if (implied.userAgent !== undefined) headers.set('user-agent', implied.userAgent);
  if (implied.credentials) headers.set('authorization', basicAuthorization(implied.credentials));
  const given = new Set<string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    const key = name.toLowerCase();
    if (value === '') headers.delete(name);
    else if (given.has(key)) headers.append(name, value);
    else headers.set(name, value);
    given.add(key);
  }
  return headers;
}

/**
 * `-i`/`-I`'s block as curl prints it, CRLF and all. Always HTTP/1.1: fetch does not say, and it is
 * the only version this client speaks (undici without allowH2; ALPN http/1.1 to a TLS proxy).
 */
function statusBlock(res: Response): string {
  let text = `HTTP/1.1 ${res.status} ${res.statusText}`.trimEnd() + '\r\n';
  for (const [name, value] of res.headers) if (name !== 'set-cookie') text += `${name}: ${value}\r\n`;
  for (const cookie of res.headers.getSetCookie()) text += `set-cookie: ${cookie}\r\n`;
  return `${text}\r\n`;
}

type Parsed = ReturnType<typeof parseCommand<typeof OPTIONS>>;

export async function fetchCommand(args: string[]): Promise<number> {
  const parsed = parseCommand('fetch', args, OPTIONS, { max: 1, what: 'one URL' });
  if (parsed.values.help) return void process.stdout.write(`${FETCH_HELP}\n`), EXIT.ok;
  const raw = parsed.positionals[0];
  if (!raw) throw new UsageError('fetch needs a URL, e.g. jaato-proxy fetch https://api.anthropic.com/');
  // -s silences every failure's message, -S brings them back; usage errors are always shown.
  const silent = parsed.values.silent === true && parsed.values['show-error'] !== true;
  try {
    return await transfer(parsed, raw, silent);
  } catch (error) {
    if (error instanceof CommandFailure && silent && !error.quiet) throw new CommandFailure(error.exitCode, error.message, { cause: error.cause, quiet: true });
    throw error;
  }
}

async function transfer({ values, tokens }: Parsed, raw: string, silent: boolean): Promise<number> {
  // Everything about the command line is checked before anything goes out.
  const label = (name: keyof typeof OPTIONS): string => optionLabel(OPTIONS, name);
  const maxTime = secondsOption(values['max-time'], label('max-time'));
  const connectTimeout = connectTimeoutOf(values);
  const maxRedirs = integerOption(values['max-redirs'], label('max-redirs'), 'a number of redirects (-1 for no limit)', -1) ?? DEFAULT_MAX_REDIRS;
  const dataParts: DataPart[] = [];
  for (const t of tokens) if (t.kind === 'option' && DATA_KINDS.has(t.name) && t.value !== undefined) dataParts.push({ kind: t.name as DataPart['kind'], value: t.value });
  if (values.head && dataParts.length > 0) throw new UsageError('-I/--head sends no body: drop -d/--data-*/--json, or -I');
  const headerLines = values.header ?? [];
  for (const h of headerLines) if (h.indexOf(':') <= 0) throw new UsageError(`-H/--header "${h}" is not of the form "Name: value"`);
  const origin = values.user === undefined ? undefined : credentialsOf(values.user, label('user'));
  const route = routeFromOptions(values, process.env);
  let writeOut = values['write-out'];
  if (writeOut?.startsWith('@')) {
    try {
      writeOut = readArgFile(writeOut.slice(1)).toString('utf8');
    } catch (error) {
      throw new CommandFailure(FETCH_EXIT.readError, `-w/--write-out ${writeOut}: cannot read the file (${(error as Error).message})`, { cause: error });
    }
  }
  let target = targetUrl(raw);
  let payload;
  try {
    payload = requestBody(dataParts, readArgFile);
  } catch (error) {
    if (error instanceof DataFileError) throw new CommandFailure(FETCH_EXIT.readError, error.message, { cause: error });
    throw new UsageError((error as Error).message);
  }
  const customMethod = values.request !== undefined;
  let method = (values.request ?? (values.head ? 'HEAD' : payload ? 'POST' : 'GET')).toUpperCase();
  if (payload && (method === 'GET' || method === 'HEAD')) {
    throw new UsageError(`-X ${method} with a body: Node's fetch sends none on ${method}; drop the data or use another method`);
  }

  const credentials = origin ?? (target.username !== '' || target.password !== '' ? { username: decodeURIComponent(target.username), password: decodeURIComponent(target.password) } : undefined);
  // fetch refuses a URL with credentials; curl sends them as Basic, and so do we.
  target.username = '';
  target.password = '';
  const headers = requestHeaders(headerLines, { payload, userAgent: values['user-agent'], credentials });

  const options: ProxyDispatcherOptions = {
    ...route,
    ...trustFromOptions(values, FETCH_EXIT.caFile),
  };
  // Under -m, no wait inside may outlast it (a pending connect would hold the process open).
  const bound = maxTime ? Math.min(connectTimeout ?? Infinity, maxTime) : connectTimeout;
  if (bound !== undefined) options.connectTimeout = Math.max(bound, 1);

  const say = (line: string): void => void process.stderr.write(`${stderrStyle.dim(line)}\n`);
  const onEvent = (m: unknown): void => say(`* ${(m as { message: string }).message}`);
  if (values.verbose) {
    const { env: routedEnv, ...explicit } = route;
    const e = explain(target, routedEnv, explicit);
    say(`* route: ${e.route}${e.proxy ? ` via ${e.proxy}` : ''} (${e.rule}); auth ${e.auth}${e.spn ? `, SPN ${e.spn}` : ''}`);
    for (const w of e.warnings) say(`* warning: ${w}`);
    subscribe(debugChannel.name, onEvent);
  }

  let fetch: ProxiedFetch;
  try {
    fetch = createFetch(options);
  } catch (error) {
    // The library checks explicit options when it is built: one it refuses came from the command line.
    if (error instanceof JaatoProxyError) throw new UsageError(error.message);
    throw error;
  }

  const controller = new AbortController();
  let timedOut = false;
  const started = performance.now();
  const timer = maxTime ? setTimeout(() => ((timedOut = true), controller.abort()), maxTime) : undefined;
  const report: TransferReport = {
    httpCode: 0,
    sizeDownload: 0,
    sizeUpload: 0,
    timeTotalMs: 0,
    urlEffective: target.href,
    contentType: null,
    numRedirects: 0,
    redirectUrl: null,
    exitCode: 0,
    errorMessage: null,
    method,
  };
  let failure: CommandFailure | undefined;
  let sinkFailed = false;
  let body = payload?.body;
  try {
    let res: Response;
    const blocks: string[] = [];
    for (;;) {
      if (values.verbose) say(`> ${method} ${target.href}`);
      report.urlEffective = target.href;
      report.method = method;
      report.sizeUpload = body?.length ?? 0;
      res = await fetch(target, { method, headers, redirect: 'manual', signal: controller.signal, ...(body !== undefined && { body }) });
      report.httpCode = res.status;
      report.contentType = res.headers.get('content-type');
      if (values.verbose) say(`< ${res.status} ${res.statusText}`);
      const location = res.headers.get('location');
      const hop = location !== null && isRedirect(res.status) ? redirectHop(target, res.status, location, method, customMethod) : undefined;
      if (!hop || !values.location) {
        report.redirectUrl = hop ? hop.url.href : null;
        break;
      }
      if (maxRedirs >= 0 && report.numRedirects >= maxRedirs) {
        await res.body?.cancel();
        throw new CommandFailure(FETCH_EXIT.tooManyRedirects, `Maximum (${maxRedirs}) redirects followed`);
      }
      if (values.include || values.head) blocks.push(statusBlock(res));
      await res.body?.cancel();
      report.numRedirects++;
      if (hop.crossOrigin) for (const h of CREDENTIAL_HEADERS) headers.delete(h);
      if (!hop.keepBody && body !== undefined) {
        body = undefined;
        headers.delete('content-type');
      }
      method = hop.method;
      target = hop.url;
      if (values.verbose) say(`* following the redirect to ${target.href}`);
    }
    const failed = values.fail === true && res.status >= 400;
    if (values.include || values.head) blocks.push(statusBlock(res));
    const stream = res.body && !failed && !values.head ? (Readable.fromWeb(res.body as WebReadableStream<Uint8Array>) as AsyncIterable<Uint8Array>) : undefined;
    if (!stream) await res.body?.cancel();
    // Like curl, the output file is made only when there is something to put in it.
    const toStdout = values.output === undefined || values.output === '-';
    const sink = toStdout ? process.stdout : blocks.length > 0 || stream ? await openOutput(values.output as string) : undefined;
    const chunks = async function* (): AsyncGenerator<string | Uint8Array> {
      for (const b of blocks) yield b;
      if (stream) {
        for await (const chunk of stream) {
          report.sizeDownload += chunk.length;
          yield chunk;
        }
      }
    };
    if (sink) {
      sink.once('error', () => (sinkFailed = true));
      await pipeline(chunks, sink, { end: !toStdout });
    }
    if (failed) failure = new CommandFailure(FETCH_EXIT.httpError, `The requested URL returned error: ${res.status}`, { quiet: silent });
  } catch (error) {
    failure = asFailure(error, { timedOut, sinkFailed, silent, elapsed: performance.now() - started, received: report.sizeDownload });
  } finally {
    clearTimeout(timer);
    if (values.verbose) unsubscribe(debugChannel.name, onEvent);
    // Nothing is in flight on success; after a failure, do not wait for what may never answer.
    await (failure ? fetch.dispatcher.destroy() : fetch.dispatcher.close());
  }
  report.timeTotalMs = performance.now() - started;
  report.exitCode = failure?.exitCode ?? FETCH_EXIT.ok;
  report.errorMessage = failure?.message ?? null;
  if (writeOut !== undefined) {
    const { text, unknown } = formatWriteOut(writeOut, report);
    for (const name of unknown) process.stderr.write(`jaato-proxy: unknown --write-out variable: '${name}'\n`);
    process.stdout.write(text);
  }
  if (failure) throw failure;
  return FETCH_EXIT.ok;
}

async function openOutput(path: string): Promise<Writable> {
  try {
    return (await open(path, 'w')).createWriteStream();
  } catch (error) {
    throw new OutputError(path, error);
  }
}

class OutputError extends Error {
  constructor(path: string, cause: unknown) {
    super(`-o/--output ${path}: cannot write (${(cause as Error).message})`, { cause });
  }
}

function asFailure(error: unknown, state: { timedOut: boolean; sinkFailed: boolean; silent: boolean; elapsed: number; received: number }): CommandFailure {
  const quiet = state.silent;
  if (error instanceof CommandFailure) return new CommandFailure(error.exitCode, error.message, { cause: error.cause ?? error, quiet });
  if (state.timedOut) {
    return new CommandFailure(FETCH_EXIT.timeout, `Operation timed out after ${Math.round(state.elapsed)} milliseconds with ${state.received} bytes received`, { cause: error, quiet });
  }
  if (error instanceof OutputError) return new CommandFailure(FETCH_EXIT.writeError, error.message, { cause: error, quiet });
  if (state.sinkFailed) return new CommandFailure(FETCH_EXIT.writeError, `Failure writing output: ${(error as Error).message}`, { cause: error, quiet });
  const code = exitCodeFor(error);
  return new CommandFailure(code, failureMessage(error, code), { cause: error, quiet });
}
