/**
 * `jaato-proxy/azure`: an `HttpClient` for Azure's `@azure/core-rest-pipeline` (the clients of the
 * Azure SDK and `@azure-rest/ai-inference`, GitHub Models' client, take it as `httpClient`). Kept off
 * the root entry point because it needs `@azure/core-rest-pipeline`, an optional peer.
 */
import { pipeline, Readable, Transform } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { createHttpHeaders, RestError, type HttpClient, type HttpHeaders, type PipelineRequest, type PipelineResponse, type RequestBodyType } from '@azure/core-rest-pipeline';
import type { Dispatcher } from 'undici';
import { JaatoProxyError, unwrapError } from '../errors.js';
import { ProxyConnectionError, ProxyTimeoutError } from '../transport/errors.js';
import { ProxyDispatcher, type ProxyDispatcherOptions } from './undici/public-dispatcher.js';

/** The client, with the dispatcher it sends on (its own: `close()` it when done with the client). */
export interface ProxiedHttpClient extends HttpClient {
  readonly dispatcher: ProxyDispatcher;
}

/**
 * An Azure pipeline `HttpClient` on jaato-proxy's transport: routing, a fresh Negotiate token per proxy
 * connection, the 407 handler. `new ModelClient(endpoint, credential, { httpClient: createAzureHttpClient() })`.
 *
 * The pipeline's own proxy settings are not used: its proxy policy turns `HTTPS_PROXY` into an agent
 * of its own (`request.agent`, no Negotiate), and that agent, `request.proxySettings` and
 * `request.tlsSettings` are ignored here; where requests go is decided by jaato-proxy's rules alone.
 * Without options it follows the environment, on a dispatcher of its own, so closing it closes
 * nothing another client uses.
 */
export function createAzureHttpClient(options: ProxyDispatcherOptions = {}): ProxiedHttpClient {
  // Azure's pipeline retries a refused or reset connection itself (as RestError codes): ours under it
  // would multiply the attempts, unless the caller asks for both.
  const dispatcher = new ProxyDispatcher({ retries: false, ...options });
  return { dispatcher, sendRequest: (request) => send(dispatcher, request) };
}

async function send(dispatcher: Dispatcher, request: PipelineRequest): Promise<PipelineResponse> {
  const url = new URL(request.url);
  if (url.protocol !== 'https:' && !request.allowInsecureConnection) {
    throw new Error(`Cannot connect to ${url.origin} while allowInsecureConnection is false.`);
  }
  // One signal for the caller's abort and the pipeline's timeout (which, as in Azure's own client,
  // covers the wait for the response's headers); it also ends a streamed body the caller is reading.
  const controller = new AbortController();
  const caller = request.abortSignal;
  if (caller?.aborted) throw abortError('The operation was aborted. Request has already been canceled.');
  const onAbort = (): void => controller.abort(abortError('The operation was aborted.'));
  caller?.addEventListener('abort', onAbort);
  const timer = request.timeout > 0 ? setTimeout(() => controller.abort(abortError(`The request timed out after ${request.timeout} ms.`)), request.timeout) : undefined;
  const release = (): void => {
    clearTimeout(timer);
    caller?.removeEventListener('abort', onAbort);
  };
  try {
    const body = await requestBody(request);
    const answer = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: request.method,
      headers: request.headers.toJSON({ preserveCase: true }),
      body,
      signal: controller.signal,
      ...(request.disableKeepAlive && { reset: true }),
    });
    clearTimeout(timer);
    const response: PipelineResponse = { request, status: answer.statusCode, headers: responseHeaders(answer.headers) };
    if (request.method === 'HEAD') {
      answer.body.resume();
      release();
      return response;
    }
    let stream: Readable = decoded(answer.body, request.headers, response.headers);
    if (request.onDownloadProgress) stream = through(stream, progress(request.onDownloadProgress));
    stream.once('close', release);
    const streamed = request.streamResponseStatusCodes;
    if (streamed?.has(Number.POSITIVE_INFINITY) || streamed?.has(response.status)) {
      response.readableStreamBody = stream;
    } else {
      response.bodyAsText = await text(stream);
    }
    return response;
  } catch (error) {
    release();
    throw failure(error, controller.signal, request);
  }
}

/** The pipeline's body kinds (Node and web streams, factories of either, Blob, FormData, bytes, text) as undici bodies. */
async function requestBody(request: PipelineRequest): Promise<string | Uint8Array | Readable | null> {
  const raw: RequestBodyType | undefined = typeof request.body === 'function' ? request.body() : request.body;
  let body: string | Uint8Array | Readable | null;
  if (raw === undefined || raw === null) body = null;
  else if (typeof raw === 'string' || raw instanceof Uint8Array) body = raw;
  else if (raw instanceof ArrayBuffer) body = new Uint8Array(raw);
  else if (ArrayBuffer.isView(raw)) body = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  else if (raw instanceof ReadableStream) body = Readable.fromWeb(raw as import('node:stream/web').ReadableStream);
  else if (raw instanceof Blob || raw instanceof FormData) {
    // The platform serialises these, FormData with its multipart boundary in the content type.
    const encoded = new Response(raw);
    const type = encoded.headers.get('content-type');
    if (type && !request.headers.has('content-type')) request.headers.set('content-type', type);
    body = new Uint8Array(await encoded.arrayBuffer());
  } else if (typeof (raw as NodeJS.ReadableStream).pipe === 'function') {
    body = raw instanceof Readable ? raw : new Readable().wrap(raw as NodeJS.ReadableStream);
  } else {
    throw new RestError('Unrecognized body type', { code: RestError.REQUEST_SEND_ERROR, request });
  }
  if (body === null || !request.onUploadProgress) return body;
  const counted = progress(request.onUploadProgress);
  if (body instanceof Readable) return through(body, counted);
  counted.end(body);
  return counted;
}

/**
 * Fields Node's http module keeps once when repeated (and set-cookie, which it gives as a list): Azure's
 * own client keeps their first value. Node joins every other repeated field with ", ", and so do we.
 */
const FIRST_ONLY = new Set(['set-cookie', 'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent']);

/** Response headers as Azure's HttpHeaders, repeated fields as Azure's own Node client sees them. */
function responseHeaders(raw: Record<string, string | string[] | undefined>): HttpHeaders {
  const headers = createHttpHeaders();
  for (const [name, value] of Object.entries(raw)) {
    const joined = Array.isArray(value) ? (FIRST_ONLY.has(name.toLowerCase()) ? value[0] : value.join(', ')) : value;
    if (joined !== undefined) headers.set(name, joined);
  }
  return headers;
}

/** gzip/deflate decoded when the caller asked for them (Accept-Encoding), as Azure's own Node client does. */
function decoded(body: Readable, sent: HttpHeaders, received: HttpHeaders): Readable {
  const accepted = sent.get('accept-encoding') ?? '';
  const encoding = received.get('content-encoding');
  if (!/gzip|deflate/.test(accepted) || (encoding !== 'gzip' && encoding !== 'deflate')) return body;
  return through(body, encoding === 'gzip' ? createGunzip() : createInflate());
}

/** `source` piped into `next`, an error or abort of either ending both (`pipe` alone would leave `next` waiting). */
function through(source: Readable, next: Transform): Transform {
  return pipeline(source, next, () => undefined);
}

function progress(report: (p: { loadedBytes: number }) => void): Transform {
  let loadedBytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      loadedBytes += chunk.length;
      report({ loadedBytes });
      callback(null, chunk);
    },
  });
}

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

/** Azure's retry policies stop on `AbortError` by name; the pipeline's own AbortError is a plain Error so named. */
function abortError(message: string): Error {
  const e = new Error(message);
  e.name = 'AbortError';
  return e;
}

/** undici's names for a connection that failed under a request, as the system codes Azure's retry policies retry. */
const RETRYABLE: Record<string, string> = {
  UND_ERR_SOCKET: 'ECONNRESET',
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_HEADERS_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_BODY_TIMEOUT: 'ETIMEDOUT',
};
/** The system codes Azure's retry policies retry (isSystemError in @typespec/ts-http-runtime). */
const SYSTEM = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ENOTFOUND']);

/**
 * What the pipeline sees: an abort (caller or timeout) as AbortError; a connection that failed (the
 * origin or the proxy reset or refused it, or timed out) as a RestError with the system code Azure's
 * retry policies retry, the typed error as its `cause`; the rest of jaato-proxy's typed errors as
 * they are (a proxy that refuses our credentials, a bad configuration: retrying fixes neither).
 */
function failure(error: unknown, signal: AbortSignal, request: PipelineRequest): unknown {
  if (signal.aborted) return signal.reason;
  if (error instanceof RestError) return error;
  const ours = unwrapError(error);
  if (ours instanceof ProxyTimeoutError) return restError(ours, 'ETIMEDOUT', request);
  if (ours instanceof ProxyConnectionError) return restError(ours, systemCode(ours.cause) ?? 'ECONNRESET', request);
  if (ours instanceof JaatoProxyError) return ours;
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return restError(error, typeof code === 'string' ? (RETRYABLE[code] ?? code) : RestError.REQUEST_SEND_ERROR, request);
}

/** The system code under a typed error, when it is one Azure retries (ECONNREFUSED from the proxy...). */
function systemCode(cause: unknown): string | undefined {
  let e = cause;
  for (let depth = 0; e instanceof Error && depth < 5; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      const mapped = RETRYABLE[code] ?? code;
      if (SYSTEM.has(mapped)) return mapped;
    }
  }
  return undefined;
}

function restError(cause: unknown, code: string, request: PipelineRequest): RestError {
  const e = new RestError(cause instanceof Error ? cause.message : String(cause), { code, request });
  Object.defineProperty(e, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
  return e;
}
