import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Lab } from '../../lab/lab.js';
import type { AccessLogEntry } from '../../lab/squid.js';
import { patternByte, type EchoReply, type Origin } from '../../lab/origin.js';
import { freePort } from '../../lab/processes.js';
import {
  JaatoProxyError,
  KerberosNoCredentialsError,
  ProxyAuthenticationError,
  ProxyConnectionError,
  ProxyTimeoutError,
  ProxyTunnelError,
  type ProxyDispatcherOptions,
} from '../../src/index.js';
import { logSince as logSinceAt, quietLogLength as quietLogLengthAt, useLab } from '../helpers/lab.js';
import { CLIENT_FAMILIES, rootCause, type ClientFamily, type ClientResponse, type ClientUnderTest, type RequestSpec } from './clients.js';

const ctx = useLab();
const MB = 1024 * 1024;

/** Counts fresh SPNEGO tokens minted while `fn` runs. */
async function countingSteps<T>(fn: () => Promise<T>): Promise<{ result: T; steps: number }> {
  let steps = 0;
  const on = (): void => void steps++;
  subscribe('jaato-proxy:spnego-token', on);
  try {
    return { result: await fn(), steps };
  } finally {
    unsubscribe('jaato-proxy:spnego-token', on);
  }
}

/** No request that reached an origin carried a proxy credential. */
function assertNoProxySecretAtOrigins(lab: Lab): void {
  for (const origin of [lab.origins.http, lab.origins.https] as Origin[]) {
    for (const seen of origin.seen) assert.equal(seen.headers['proxy-authorization'], undefined, `${origin.url}${seen.url} got Proxy-Authorization`);
  }
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** `/form`: parses a multipart body as an origin would and answers each field's SHA-256. */
function formEcho(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void new Request('http://origin/form', { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body: Buffer.concat(chunks) })
      .formData()
      .then(async (form) => {
        const out: Record<string, string> = {};
        for (const [name, value] of form) out[name] = sha256(typeof value === 'string' ? Buffer.from(value) : Buffer.from(await value.arrayBuffer()));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      })
      .catch((error: unknown) => res.writeHead(400).end(String(error)));
  });
}

/** The mutual-auth failure: typed, saying what failed, not a 407 it never got nor a token it could not make. */
function assertMutualAuthError(err: unknown, url: string): void {
  assert.ok(err instanceof JaatoProxyError, `${url}: ${String(err)}`);
  assert.match(err.message, /mutual authentication/, url);
  assert.doesNotMatch(err.message, /offers: none|could not make a token/, url);
}

function json(body: Buffer): EchoReply {
  return JSON.parse(body.toString('utf8')) as EchoReply;
}

let uniq = 0;
const path = (name: string): string => `/${name}-${process.pid}-${++uniq}`;

/**
 * The two Negotiate proxy families of the lab. Squid authenticates a connection once and never sends a
 * reply token; Apache + mod_auth_gssapi wants a token on every request and sends one on forwarded 200s.
 */
interface ProxyUnderTest {
  name: 'squid' | 'apache';
  url(lab: Lab): string;
  log(lab: Lab): AccessLogEntry[];
  /** What the proxy puts in the Via header of a forwarded request. */
  via: RegExp;
}

const SQUID: ProxyUnderTest = { name: 'squid', url: (lab) => lab.proxies.negotiate, log: (lab) => lab.accessLog(), via: /squid/ };
const APACHE: ProxyUnderTest = { name: 'apache', url: (lab) => lab.proxies.perRequest, log: (lab) => lab.perRequestLog(), via: /jaato-lab-apache/ };
/** Rows whose outcome depends on how the proxy authenticates run on both. */
const BOTH = [SQUID, APACHE];
/** Rows that do not depend on the proxy family (direct, bypass, no lab proxy, tunnel plumbing) run once, on Squid. */
const ONCE = 'once';

const logSince = (lab: Lab, proxy: ProxyUnderTest, from: number, min: number): Promise<AccessLogEntry[]> => logSinceAt(lab, from, min, proxy.log);
const quietLogLength = (lab: Lab, proxy: ProxyUnderTest): Promise<number> => quietLogLengthAt(lab, proxy.log);

/** Proxy options for the lab: a proxy family's Negotiate port, or one of Squid's Basic ports; nothing bypassed. */
function via(lab: Lab, port: ProxyUnderTest | 'basic' | 'both', extra: ProxyDispatcherOptions = {}): ProxyDispatcherOptions {
  const proxy = typeof port === 'string' ? lab.proxies[port] : port.url(lab);
  return { proxy, kerberos: true, exactNoProxy: '', noProxy: '', ca: lab.ca, env: {}, ...extra };
}

async function withClient<T>(family: ClientFamily, options: ProxyDispatcherOptions, fn: (c: ClientUnderTest) => Promise<T>): Promise<T> {
  const client = family.create(options);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

interface Row {
  name: string;
  on: readonly ProxyUnderTest[] | typeof ONCE;
  run(family: ClientFamily, lab: Lab, proxy: ProxyUnderTest): Promise<void>;
}

const ROWS: Row[] = [
  {
    name: 'direct when no proxy is configured',
    on: ONCE,
    async run(family, lab, proxy) {
      const from = await quietLogLength(lab, proxy);
      const p = path('direct');
      const res = await withClient(family, { env: {}, ca: lab.ca }, (c) => c.request(lab.origins.https.url + p));
      assert.equal(res.status, 200);
      assert.equal(json(res.body).url, p);
      assert.equal(json(res.body).headers.via, undefined);
      assert.deepEqual(await logSince(lab, proxy, from, 0), []);
    },
  },
  {
    name: 'bypass by JAATO_NO_PROXY (exact) goes direct',
    on: ONCE,
    async run(family, lab, proxy) {
      const p = path('exact');
      const res = await withClient(family, via(lab, proxy, { env: { JAATO_NO_PROXY: '127.0.0.1' }, exactNoProxy: undefined }), (c) =>
        c.request(lab.origins.http.url + p),
      );
      assert.equal(res.status, 200);
      assert.equal(json(res.body).headers.via, undefined, 'no proxy in the path');
    },
  },
  {
    name: 'bypass by NO_PROXY (CIDR) goes direct',
    on: ONCE,
    async run(family, lab, proxy) {
      const res = await withClient(family, via(lab, proxy, { env: { NO_PROXY: '127.0.0.0/8' }, noProxy: undefined }), (c) =>
        c.request(lab.origins.https.url + path('noproxy')),
      );
      assert.equal(res.status, 200);
      assert.equal(json(res.body).headers.via, undefined);
    },
  },
  {
    name: 'http: forwarded in absolute form through the Negotiate port, pre-authenticated (no 407 first)',
    on: BOTH,
    async run(family, lab, proxy) {
      const from = await quietLogLength(lab, proxy);
      const p = path('fwd');
      const { result: res, steps } = await countingSteps(() => withClient(family, via(lab, proxy), (c) => c.request(lab.origins.http.url + p)));
      assert.equal(res.status, 200);
      assert.match(String(json(res.body).headers.via), proxy.via);
      assert.equal(steps, 1);
      const log = await logSince(lab, proxy, from, 1);
      assert.deepEqual(log.map((e) => [e.method, e.status, e.user]), [['GET', 200, lab.principal]]);
      assert.ok(log[0]?.url.endsWith(p));
    },
  },
  {
    name: 'response headers arrive whole on every route (forwarded, tunnelled, direct), 407 handler in the chain',
    on: BOTH,
    async run(family, lab, proxy) {
      for (const origin of [lab.origins.http, lab.origins.https]) {
        origin.mount('/fidelity', (req, res) => {
          req.resume();
          res.writeHead(201, { 'content-type': 'text/x-jaato; charset=utf-8', 'x-jaato-a': 'one', location: '/elsewhere' }).end('fidelity');
        });
      }
      const routes: Array<[string, ProxyDispatcherOptions]> = [
        [lab.origins.http.url, via(lab, proxy)],
        [lab.origins.https.url, via(lab, proxy)],
        [lab.origins.http.url, via(lab, proxy, { exactNoProxy: '127.0.0.1' })],
      ];
      for (const [origin, options] of routes) {
        const res = await withClient(family, options, (c) => c.request(`${origin}/fidelity`));
        assert.equal(res.status, 201, origin);
        assert.equal(res.headers['content-type'], 'text/x-jaato; charset=utf-8', origin);
        assert.equal(res.headers['x-jaato-a'], 'one', origin);
        assert.equal(res.headers.location, '/elsewhere', origin);
        assert.equal(res.body.toString(), 'fidelity', origin);
      }
    },
  },
  {
    name: 'https: CONNECT tunnel through the Negotiate port, pre-authenticated, TLS end to end',
    on: BOTH,
    async run(family, lab, proxy) {
      const from = await quietLogLength(lab, proxy);
      const p = path('tunnel');
      const res = await withClient(family, via(lab, proxy), (c) => c.request(lab.origins.https.url + p));
      assert.equal(res.status, 200);
      const echo = json(res.body);
      assert.equal(echo.tls, true, 'the origin spoke TLS with us');
      assert.equal(echo.headers.via, undefined, 'the proxy saw only an opaque tunnel');
      const log = await logSince(lab, proxy, from, 1);
      assert.deepEqual(log.map((e) => [e.method, e.status, e.user]), [['CONNECT', 200, lab.principal]]);
    },
  },
  {
    name: 'origin certificate is checked against the origin name through the tunnel',
    on: ONCE,
    async run(family, lab, proxy) {
      const err = await withClient(family, via(lab, proxy, { ca: undefined }), (c) => c.request(lab.origins.https.url + path('untrusted'))).then(
        () => undefined,
        (e: unknown) => rootCause(e),
      );
      assert.ok(err instanceof Error);
      assert.match(String((err as NodeJS.ErrnoException).code), /SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/);
    },
  },
  {
    name: 'Basic-only port with credentials in the proxy URL (Kerberos off), http and https',
    on: ONCE,
    async run(family, lab, proxy) {
      const from = await quietLogLength(lab, proxy);
      const basicUrl = lab.proxies.basic.replace('http://', `http://${lab.basic.username}:${encodeURIComponent(lab.basic.password)}@`);
      await withClient(family, { proxy: basicUrl, kerberos: false, env: {}, ca: lab.ca }, async (c) => {
        assert.equal((await c.request(lab.origins.http.url + path('basic'))).status, 200);
        assert.equal((await c.request(lab.origins.https.url + path('basic'))).status, 200);
      });
      const log = await logSince(lab, proxy, from, 2);
      assert.deepEqual(log.map((e) => [e.method, e.status, e.user]).sort(), [['CONNECT', 200, 'bob'], ['GET', 200, 'bob']]);
    },
  },
  {
    name: 'port offering both: Negotiate is chosen when Kerberos is on, even with Basic credentials at hand',
    on: ONCE,
    async run(family, lab, proxy) {
      const from = await quietLogLength(lab, proxy);
      const bothUrl = lab.proxies.both.replace('http://', `http://${lab.basic.username}:${encodeURIComponent(lab.basic.password)}@`);
      await withClient(family, via(lab, 'both', { proxy: bothUrl }), async (c) => {
        assert.equal((await c.request(lab.origins.http.url + path('both'))).status, 200);
        assert.equal((await c.request(lab.origins.https.url + path('both'))).status, 200);
      });
      const log = await logSince(lab, proxy, from, 2);
      assert.deepEqual(log.map((e) => [e.status, e.user]), [[200, lab.principal], [200, lab.principal]]);
    },
  },
  {
    name: 'port offering both, no Kerberos ticket: the 407 handler falls back to the Basic credentials in the proxy URL',
    on: ONCE,
    async run(family, lab, proxy) {
      const bothUrl = lab.proxies.both.replace('http://', `http://${lab.basic.username}:${encodeURIComponent(lab.basic.password)}@`);
      await lab.kdestroy();
      try {
        const from = await quietLogLength(lab, proxy);
        await withClient(family, via(lab, 'both', { proxy: bothUrl }), async (c) => {
          assert.equal((await c.request(lab.origins.http.url + path('fallback'))).status, 200);
          assert.equal((await c.request(lab.origins.https.url + path('fallback'))).status, 200);
        });
        const log = await logSince(lab, proxy, from, 4);
        assert.deepEqual(log.filter((e) => e.status === 200).map((e) => e.user), ['bob', 'bob']);
      } finally {
        await lab.kinit();
      }
    },
  },
  {
    name: 'a fresh token per connection: 8 parallel connections all authenticate (a replayed token would be refused)',
    on: BOTH,
    async run(family, lab, proxy) {
      const from = await quietLogLength(lab, proxy);
      const { result, steps } = await countingSteps(() =>
        withClient(family, via(lab, proxy), (c) =>
          Promise.all([
            ...Array.from({ length: 4 }, () => c.request(`${lab.origins.https.url}/delay/300`)),
            ...Array.from({ length: 4 }, () => c.request(`${lab.origins.http.url}/delay/300`)),
          ]),
        ),
      );
      assert.deepEqual(result.map((r) => r.status), Array(8).fill(200));
      assert.equal(steps, 8, 'one GSSAPI step per connection');
      const log = await logSince(lab, proxy, from, 8);
      assert.equal(log.filter((e) => e.status === 407).length, 0);
      assert.equal(log.filter((e) => e.status === 200 && e.user === lab.principal).length, 8);
    },
  },
  {
    name: 'keep-alive through a tunnel: 10 sequential https requests on one connection take one GSSAPI step',
    on: BOTH,
    async run(family, lab, proxy) {
      const { steps } = await countingSteps(() =>
        withClient(family, via(lab, proxy, { connections: 1 }), async (c) => {
          for (let i = 0; i < 10; i++) assert.equal((await c.request(lab.origins.https.url + '/ka')).status, 200);
        }),
      );
      assert.equal(steps, 1);
    },
  },
  {
    name: 'per connection: 10 sequential forwarded requests on one connection take one GSSAPI step',
    on: [SQUID],
    async run(family, lab) {
      const fwd = await countingSteps(() =>
        withClient(family, via(lab, SQUID, { connections: 1 }), async (c) => {
          for (let i = 0; i < 10; i++) assert.equal((await c.request(lab.origins.http.url + '/ka')).status, 200);
        }),
      );
      assert.equal(fwd.steps, 1);
    },
  },
  {
    name: 'per request: 20 sequential forwarded GETs on one kept-alive connection cost at most one 407, each authenticated',
    on: [APACHE],
    async run(family, lab) {
      const from = await quietLogLength(lab, APACHE);
      await withClient(family, via(lab, APACHE, { connections: 1 }), async (c) => {
        for (let i = 0; i < 20; i++) assert.equal((await c.request(lab.origins.http.url + path('per-request'))).status, 200, `request ${i + 1}`);
      });
      const log = await logSince(lab, APACHE, from, 20);
      const challenged = log.filter((e) => e.status === 407).length;
      assert.ok(challenged <= 1, `${challenged} x 407`);
      assert.deepEqual(log.filter((e) => e.status !== 407).map((e) => [e.method, e.status, e.user]), Array(20).fill(['GET', 200, lab.principal]));
      assert.equal(new Set(log.map((e) => e.clientPort)).size, 1, 'one kept-alive connection to the proxy');
    },
  },
  {
    name: 'bodies survive authentication: POSTs on a reused, authenticated connection arrive whole (string, Buffer, stream, async iterable, FormData, 2 MiB)',
    on: BOTH,
    async run(family, lab, proxy) {
      lab.origins.http.mount('/form', formEcho);
      const big = Buffer.from(Array.from({ length: 2 * MB }, (_, i) => patternByte(i)));
      const chunked = (b: Buffer, size: number) =>
        async function* (): AsyncIterable<Uint8Array> {
          for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
        };
      const three = Buffer.from('three chunks of a stream body');
      const cases: Array<[string, RequestSpec, Buffer]> = [
        ['string', { body: 'jaato-7' }, Buffer.from('jaato-7')],
        ['Buffer', { body: Buffer.from('a Buffer body') }, Buffer.from('a Buffer body')],
        ['stream', { body: chunked(three, 10) }, three],
        ...(family.asyncIterableBodies ? [['async iterable', { body: chunked(three, 10), iterable: true }, three] as [string, RequestSpec, Buffer]] : []),
        ['2 MiB Buffer', { body: big }, big],
        ['2 MiB stream', { body: chunked(big, 64 * 1024) }, big],
      ];
      const file = big.subarray(0, 100_000);
      const form = new FormData();
      form.set('field', 'value');
      form.set('file', new Blob([file]), 'file.bin');
      // Every kind is tried and the failures reported together: the row names each body that did not arrive.
      const failures: string[] = [];
      const attempt = async (kind: string, send: () => Promise<ClientResponse>, check: (res: ClientResponse) => void): Promise<void> => {
        try {
          check(await send());
        } catch (e) {
          failures.push(`${kind}: ${e instanceof assert.AssertionError ? e.message.split('\n')[0] : `${String(e)}; cause: ${String(rootCause(e))}`}`);
        }
      };
      await withClient(family, via(lab, proxy, { connections: 1 }), async (c) => {
        assert.equal((await c.request(lab.origins.http.url + path('warm-up'))).status, 200);
        for (const [kind, spec, sent] of cases) {
          await attempt(kind, () => c.request(lab.origins.http.url + path('body'), { method: 'POST', ...spec }), (res) => {
            assert.equal(res.status, 200, `status ${res.status}`);
            assert.equal(json(res.body).bodyBytes, sent.length, `${json(res.body).bodyBytes} of ${sent.length} bytes`);
            assert.equal(json(res.body).bodySha256, sha256(sent), 'SHA-256 differs');
          });
        }
        await attempt('FormData', () => c.request(lab.origins.http.url + '/form', { method: 'POST', body: form }), (res) => {
          assert.equal(res.status, 200, `status ${res.status}`);
          assert.deepEqual(JSON.parse(res.body.toString()), { field: sha256(Buffer.from('value')), file: sha256(file) }, 'fields differ');
        });
      });
      assert.deepEqual(failures, []);
    },
  },
  {
    name: '407 recovery: no ticket fails with a typed error naming the remedy; after kinit the next request succeeds',
    on: BOTH,
    async run(family, lab, proxy) {
      await lab.kdestroy();
      try {
        for (const url of [lab.origins.https.url, lab.origins.http.url]) {
          const err = await withClient(family, via(lab, proxy), (c) => c.request(url + path('noticket'))).then(
            () => assert.fail('expected a failure'),
            (e: unknown) => rootCause(e),
          );
          assert.ok(err instanceof ProxyAuthenticationError, String(err));
          assert.deepEqual(err.offered, ['negotiate']);
          assert.match(err.message, /kinit/);
          assert.ok(err.cause instanceof KerberosNoCredentialsError);
        }
      } finally {
        await lab.kinit();
      }
      const res = await withClient(family, via(lab, proxy), (c) => c.request(lab.origins.https.url + path('afterkinit')));
      assert.equal(res.status, 200);
    },
  },
  {
    name: 'a token the proxy cannot accept (SPN not in its keytab): bounded retries, then an error that says why',
    on: BOTH,
    async run(family, lab, proxy) {
      const from = await quietLogLength(lab, proxy);
      const { result: err, steps } = await countingSteps(() =>
        withClient(family, via(lab, proxy, { spn: lab.spnNotInKeytab }), (c) => c.request(lab.origins.http.url + path('badspn'))).then(
          () => assert.fail('expected a failure'),
          (e: unknown) => rootCause(e),
        ),
      );
      assert.ok(err instanceof ProxyAuthenticationError, String(err));
      assert.match(err.message, /JAATO_KERBEROS_SPN/);
      assert.equal(steps, 3, 'pre-auth plus two retries, each with a fresh token');
      const log = await logSince(lab, proxy, from, 3);
      assert.deepEqual(log.map((e) => e.status), [407, 407, 407]);
    },
  },
  {
    name: 'upload and download of 10 MB streams through the tunnel',
    on: ONCE,
    async run(family, lab, proxy) {
      await withClient(family, via(lab, proxy), async (c) => {
        const size = 10 * MB + 123;
        const down = await c.request(`${lab.origins.https.url}/bytes/${size}`);
        assert.equal(down.body.length, size);
        for (const i of [0, 1, 250, 251, 5 * MB, size - 1]) assert.equal(down.body[i], patternByte(i));
        const chunk = Buffer.alloc(MB, 7);
        const hash = createHash('sha256');
        for (let i = 0; i < 10; i++) hash.update(chunk);
        const up = await c.request(lab.origins.https.url + '/upload', {
          method: 'POST',
          body: async function* () {
            for (let i = 0; i < 10; i++) yield chunk;
          },
        });
        assert.equal(json(up.body).bodyBytes, 10 * MB);
        assert.equal(json(up.body).bodySha256, hash.digest('hex'));
      });
    },
  },
  {
    name: 'abort with an AbortSignal ends a request in flight',
    on: ONCE,
    async run(family, lab, proxy) {
      await withClient(family, via(lab, proxy), async (c) => {
        const started = Date.now();
        const err = await c.request(`${lab.origins.https.url}/delay/5000`, { signal: AbortSignal.timeout(300) }).then(
          () => assert.fail('expected an abort'),
          (e: unknown) => e as Error,
        );
        assert.match(err.name, /AbortError|TimeoutError|CanceledError/); // CanceledError: axios' name for it
        assert.ok(Date.now() - started < 3000);
      });
    },
  },
  {
    name: 'timeout: a proxy that accepts but never answers CONNECT fails with a typed timeout',
    on: ONCE,
    async run(family) {
      const silent: Server = createServer(() => undefined);
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const port = (silent.address() as AddressInfo).port;
      try {
        const started = Date.now();
        const err = await withClient(family, { proxy: `http://user:pw-secret@127.0.0.1:${port}`, env: {}, connectTimeout: 400 }, (c) =>
          c.request('https://example.invalid/'),
        ).then(
          () => assert.fail('expected a timeout'),
          (e: unknown) => rootCause(e),
        );
        assert.ok(err instanceof ProxyTimeoutError, String(err));
        assert.ok(Date.now() - started < 3000);
        assert.ok(!err.message.includes('pw-secret'));
        assert.match(err.message, /options\.proxy/);
      } finally {
        silent.close();
      }
    },
  },
  {
    name: 'unreachable proxy: typed error naming the proxy (redacted) and where it came from',
    on: ONCE,
    async run(family) {
      const err = await withClient(family, { env: { HTTPS_PROXY: 'http://u:hunter2@127.0.0.1:1' } }, (c) => c.request('https://example.invalid/')).then(
        () => assert.fail('expected a failure'),
        (e: unknown) => rootCause(e),
      );
      assert.ok(err instanceof ProxyConnectionError, String(err));
      assert.match(err.message, /HTTPS_PROXY/);
      assert.match(err.message, /ECONNREFUSED/);
      assert.ok(!err.message.includes('hunter2'));
    },
  },
  {
    name: 'CONNECT refused by policy (port not allowed): typed error with the proxy status',
    on: BOTH,
    async run(family, lab, proxy) {
      // A free port is none of the lab origins': the lab proxies tunnel to 443 and those only.
      const closed = await freePort();
      const err = await withClient(family, via(lab, proxy), (c) => c.request(`https://127.0.0.1:${closed}/`)).then(
        () => assert.fail('expected a failure'),
        (e: unknown) => rootCause(e),
      );
      assert.ok(err instanceof ProxyTunnelError, String(err));
      assert.equal(err.statusCode, 403);
    },
  },
  {
    name: 'redirect from a proxied origin to a bypassed host: no proxy credential follows it',
    on: ONCE,
    async run(family, lab, proxy) {
      const target = `${lab.origins.http.url.replace('127.0.0.1', 'localhost')}${path('landed')}`;
      const res = await withClient(family, via(lab, proxy, { exactNoProxy: 'localhost' }), async (c) => {
        const first = await c.request(`${lab.origins.http.url}/redirect?to=${encodeURIComponent(target)}`);
        // Clients that do not follow redirects themselves: follow it as their caller would.
        return first.status === 302 ? c.request(first.headers.location as string) : first;
      });
      assert.equal(res.status, 200);
      const echo = json(res.body);
      assert.equal(echo.headers['proxy-authorization'], undefined);
      assert.equal(echo.headers.via, undefined, 'the second hop went direct');
    },
  },
  {
    name: 'a Proxy-Authorization set by the caller never reaches an origin (direct or tunnelled)',
    on: ONCE,
    async run(family, lab, proxy) {
      const headers = { 'proxy-authorization': 'Basic bGVhazpsZWFr' };
      await withClient(family, via(lab, proxy, { exactNoProxy: '127.0.0.1' }), (c) => c.request(lab.origins.http.url + path('leak'), { headers }));
      await withClient(family, via(lab, proxy), (c) => c.request(lab.origins.https.url + path('leak'), { headers }));
      assertNoProxySecretAtOrigins(lab);
    },
  },
  {
    name: "an origin's 401 Negotiate never triggers our proxy token",
    on: ONCE,
    async run(family, lab, proxy) {
      const { result, steps } = await countingSteps(() =>
        withClient(family, via(lab, proxy), (c) => c.request(`${lab.origins.https.url}/negotiate-401`)),
      );
      assert.equal(result.status, 401);
      assert.equal(steps, 1, 'only the tunnel pre-auth token');
    },
  },
  {
    name: 'mutual auth required, Squid (never sends a reply token): https and forwarded http fail closed with the mutual-auth error',
    on: [SQUID],
    async run(family, lab) {
      for (const url of [lab.origins.http.url, lab.origins.https.url]) {
        const err = await withClient(family, via(lab, SQUID, { requireMutualAuth: true }), (c) => c.request(url + path('mutual'))).then(
          () => assert.fail(`${url}: expected a failure`),
          (e: unknown) => rootCause(e),
        );
        assertMutualAuthError(err, url);
      }
    },
  },
  {
    name: "mutual auth required, Apache: forwarded http passes (its reply token verifies); https fails closed (none on CONNECT)",
    on: [APACHE],
    async run(family, lab) {
      await withClient(family, via(lab, APACHE, { requireMutualAuth: true }), async (c) => {
        const res = await c.request(lab.origins.http.url + path('mutual'));
        assert.equal(res.status, 200);
        assert.match(String(json(res.body).headers.via), APACHE.via);
      });
      const err = await withClient(family, via(lab, APACHE, { requireMutualAuth: true }), (c) => c.request(lab.origins.https.url + path('mutual'))).then(
        () => assert.fail('expected a failure'),
        (e: unknown) => rootCause(e),
      );
      assertMutualAuthError(err, lab.origins.https.url);
    },
  },
];

/**
 * The table's rows for one client family, in a test file of its own (conformance-<family>.test.ts):
 * the whole table in one file ran 105 s at load 9, too near the per-file bound.
 */
export function conformanceTable(name: ClientFamily['name']): void {
  const family = CLIENT_FAMILIES.find((f) => f.name === name);
  if (!family) throw new Error(`no client family ${name}`);
  describe(`conformance: ${family.name}`, () => {
    for (const row of ROWS) {
      if (row.on === ONCE) test(row.name, () => row.run(family, ctx.lab, SQUID));
      else for (const proxy of row.on) test(`[${proxy.name}] ${row.name}`, () => row.run(family, ctx.lab, proxy));
    }
    test('no request that reached an origin carried Proxy-Authorization', () => assertNoProxySecretAtOrigins(ctx.lab));
  });
}
