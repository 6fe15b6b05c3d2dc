import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import got from 'got';
import {
  createAgents,
  createFetch,
  getAgent,
  getGotOptions,
  install,
  unwrapError,
  uninstall,
  type ProxyDispatcherOptions,
} from '../../src/index.js';
import { createAxios } from '../../src/adapters/axios.js';

/** What a conformance row needs from a client: one request, its answer, and cleanup. */
export interface ClientResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** A request body in each form a client API takes; a function is a stream (a generator of chunks). */
export type Body = string | Buffer | FormData | (() => AsyncIterable<Uint8Array>);

export interface RequestSpec {
  method?: string;
  headers?: Record<string, string>;
  body?: Body;
  /** fetch families: pass the generator itself as the body (Node's fetch takes async iterables), not a ReadableStream. */
  iterable?: boolean;
  signal?: AbortSignal;
}

export interface ClientUnderTest {
  request(url: string, spec?: RequestSpec): Promise<ClientResponse>;
  close(): Promise<void>;
}

export interface ClientFamily {
  name: string;
  /** Node's fetch: takes an async iterable itself as a body (RequestSpec.iterable). */
  asyncIterableBodies?: boolean;
  create(options: ProxyDispatcherOptions): ClientUnderTest;
}

/** The underlying library error: clients wrap it (fetch: TypeError "fetch failed" with `cause`; axios, got: `cause`). */
export const rootCause = unwrapError;

function flatHeaders(h: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && v !== null) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

/** The body for clients that take a Node stream (axios, got): a generator becomes a Readable. */
const bodyOf = (spec: RequestSpec): Exclude<Body, () => AsyncIterable<Uint8Array>> | Readable | undefined =>
  typeof spec.body === 'function' ? Readable.from(spec.body()) : spec.body;

/** One request with a fetch function, streaming the body when it is a generator. */
async function fetchRequest(f: typeof globalThis.fetch, url: string, spec: RequestSpec = {}): Promise<ClientResponse> {
  const init: RequestInit & { duplex?: 'half' } = { method: spec.method ?? 'GET', headers: spec.headers, signal: spec.signal };
  if (spec.body !== undefined) {
    const body = spec.body;
    // Node's fetch takes an async iterable as a body; the DOM types do not know it.
    init.body = typeof body === 'function' ? (spec.iterable ? body() : (ReadableStream.from(body()) as ReadableStream)) : body;
    init.duplex = 'half';
  }
  const res = await f(url, init);
  return { status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()) };
}

const fetchFamily: ClientFamily = {
  name: 'fetch',
  asyncIterableBodies: true,
  create(options) {
    const f = createFetch(options);
    return { request: (url, spec) => fetchRequest(f, url, spec), close: () => f.dispatcher.close() };
  },
};

const nodeAgentsFamily: ClientFamily = {
  name: 'node:http(s) agents',
  create(options) {
    const agents = createAgents(options);
    return {
      async request(url, spec = {}) {
        // node:http has no FormData: its caller serialises one, as Response does.
        let body: Exclude<Body, FormData> | undefined;
        let headers = spec.headers;
        if (spec.body instanceof FormData) {
          const encoded = new Response(spec.body);
          headers = { ...headers, 'content-type': encoded.headers.get('content-type') ?? '' };
          body = Buffer.from(await encoded.arrayBuffer());
        } else body = spec.body;
        return new Promise<ClientResponse>((resolve, reject) => {
          const send = url.startsWith('https:') ? httpsRequest : httpRequest;
          const req = send(url, { method: spec.method ?? 'GET', headers, agent: getAgent(url, agents), signal: spec.signal });
          req.on('error', reject);
          req.on('response', (res: IncomingMessage) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const headers: Record<string, string> = {};
              for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
              resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
            });
          });
          if (body === undefined) req.end();
          else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
          else {
            const stream = body;
            void (async () => {
              for await (const chunk of stream()) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
              req.end();
            })().catch(reject);
          }
        });
      },
      async close() {
        agents.http.destroy();
        agents.https.destroy();
      },
    };
  },
};

const axiosFamily: ClientFamily = {
  name: 'axios',
  create(options) {
    const client = createAxios(
      { responseType: 'arraybuffer', validateStatus: () => true, maxRedirects: 0, maxBodyLength: Infinity, maxContentLength: Infinity, decompress: false },
      options,
    );
    return {
      async request(url, spec = {}) {
        const res = await client.request({ url, method: spec.method ?? 'GET', headers: spec.headers, data: bodyOf(spec), signal: spec.signal });
        return { status: res.status, headers: flatHeaders(res.headers as Record<string, unknown>), body: Buffer.from(res.data as ArrayBuffer) };
      },
      async close() {
        const { httpAgent, httpsAgent } = client.defaults;
        (httpAgent as { destroy(): void }).destroy();
        (httpsAgent as { destroy(): void }).destroy();
      },
    };
  },
};

const gotFamily: ClientFamily = {
  name: 'got',
  create(options) {
    const gotOptions = getGotOptions(options);
    return {
      async request(url, spec = {}) {
        const body = bodyOf(spec);
        const res = await got(url, {
          ...gotOptions,
          method: (spec.method ?? 'GET') as 'GET',
          headers: spec.headers,
          ...(body !== undefined && { body }),
          ...(spec.signal && { signal: spec.signal }),
          responseType: 'buffer',
          throwHttpErrors: false,
          followRedirect: false,
          retry: { limit: 0 },
          decompress: false,
        });
        return { status: res.statusCode, headers: flatHeaders(res.headers), body: res.body };
      },
      async close() {
        gotOptions.agent.http.destroy();
        gotOptions.agent.https.destroy();
      },
    };
  },
};

/** install(): the plain global fetch, with no dispatcher passed, goes through the core. */
const globalFamily: ClientFamily = {
  name: 'global install (plain fetch)',
  asyncIterableBodies: true,
  create(options) {
    install(options);
    return { request: (url, spec) => fetchRequest(globalThis.fetch, url, spec), close: () => uninstall() };
  },
};

/** Every client family runs the same table. Later adapters are added here. */
export const CLIENT_FAMILIES: readonly ClientFamily[] = [fetchFamily, nodeAgentsFamily, axiosFamily, gotFamily, globalFamily];
