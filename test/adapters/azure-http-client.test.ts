import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Agent } from 'node:http';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createHttpHeaders, createPipelineFromOptions, createPipelineRequest, isRestError, type PipelineRequest } from '@azure/core-rest-pipeline';
import { getFetchInit } from '../../src/index.js';
import { createAzureHttpClient } from '../../src/adapters/azure.js';
import type { EchoReply } from '../../lab/origin.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';

const ctx = useLab();
const PAYLOAD = Buffer.from('a body the pipeline hands over in one of its shapes\n'.repeat(50));
const SHA = createHash('sha256').update(PAYLOAD).digest('hex');

function client(): ReturnType<typeof createAzureHttpClient> {
  const lab = ctx.lab;
  return createAzureHttpClient({ proxy: lab.proxies.negotiate, kerberos: true, ca: lab.ca, env: {} });
}

function post(path: string, body: PipelineRequest['body']): PipelineRequest {
  return createPipelineRequest({ url: `${ctx.lab.origins.https.url}${path}`, method: 'POST', body });
}

test('every body kind the pipeline uses arrives byte for byte, through the Kerberos Squid', async () => {
  const lab = ctx.lab;
  const http = client();
  const from = await quietLogLength(lab);
  const kinds: Record<string, PipelineRequest['body']> = {
    string: PAYLOAD.toString(),
    Uint8Array: new Uint8Array(PAYLOAD),
    ArrayBuffer: PAYLOAD.buffer.slice(PAYLOAD.byteOffset, PAYLOAD.byteOffset + PAYLOAD.length),
    DataView: new DataView(PAYLOAD.buffer, PAYLOAD.byteOffset, PAYLOAD.length),
    'Node stream factory': () => Readable.from([PAYLOAD.subarray(0, 100), PAYLOAD.subarray(100)]),
    'web stream': Readable.toWeb(Readable.from([PAYLOAD])) as ReadableStream<Uint8Array>,
    Blob: new Blob([PAYLOAD]),
  };
  for (const [kind, body] of Object.entries(kinds)) {
    const res = await http.sendRequest(post(`/body/${encodeURIComponent(kind)}`, body));
    assert.equal(res.status, 200, kind);
    const echo = JSON.parse(res.bodyAsText ?? '') as EchoReply;
    assert.deepEqual([echo.bodyBytes, echo.bodySha256], [PAYLOAD.length, SHA], kind);
  }
  const form = new FormData();
  form.set('field', 'value');
  const res = await http.sendRequest(post('/form', form));
  const echo = JSON.parse(res.bodyAsText ?? '') as EchoReply;
  assert.match(String(echo.headers['content-type']), /^multipart\/form-data; boundary=/);
  assert.ok(echo.bodyBytes > 0);
  await http.dispatcher.close();
  const mine = await logSince(lab, from, 1);
  assert.ok(mine.length >= 1 && mine.every((e) => e.method === 'CONNECT' && e.status === 200 && e.user === lab.principal), JSON.stringify(mine));
});

test("the pipeline's own proxy settings and agent are ignored: routing is jaato-proxy's", async () => {
  const lab = ctx.lab;
  const http = client();
  const from = await quietLogLength(lab);
  const request = createPipelineRequest({ url: `${lab.origins.https.url}/ignored-agent`, method: 'GET' });
  request.proxySettings = { host: 'http://127.0.0.1', port: 1 }; // nothing listens there
  request.agent = new Agent();
  const res = await http.sendRequest(request);
  assert.equal(res.status, 200);
  await http.dispatcher.close(); // Squid logs a CONNECT when its tunnel closes
  const mine = await logSince(lab, from, 1);
  assert.deepEqual(mine.map((e) => [e.method, e.status, e.user]), [['CONNECT', 200, lab.principal]]);
});

test('streamResponseStatusCodes, HEAD, gzip on request, upload and download progress', async () => {
  const lab = ctx.lab;
  const zipped = gzipSync(PAYLOAD);
  lab.origins.https.mount('/gzipped', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': zipped.length }).end(req.method === 'HEAD' ? undefined : zipped);
  });
  const http = client();
  const streamed = createPipelineRequest({ url: `${lab.origins.https.url}/bytes/100000`, method: 'GET', streamResponseStatusCodes: new Set([200]) });
  let downloaded = 0;
  streamed.onDownloadProgress = (p) => (downloaded = p.loadedBytes);
  const res = await http.sendRequest(streamed);
  assert.equal(res.bodyAsText, undefined);
  let n = 0;
  for await (const chunk of res.readableStreamBody ?? []) n += (chunk as Buffer).length;
  assert.equal(n, 100000);
  assert.equal(downloaded, 100000);

  const head = await http.sendRequest(createPipelineRequest({ url: `${lab.origins.https.url}/gzipped`, method: 'HEAD' }));
  assert.deepEqual([head.status, head.bodyAsText, head.headers.get('content-encoding')], [200, undefined, 'gzip']);

  const gz = await http.sendRequest(createPipelineRequest({ url: `${lab.origins.https.url}/gzipped`, method: 'GET', headers: createHttpHeaders({ 'accept-encoding': 'gzip' }) }));
  assert.equal(gz.bodyAsText, PAYLOAD.toString(), 'decoded because the caller asked for gzip');

  const up = post('/upload', PAYLOAD);
  let uploaded = 0;
  up.onUploadProgress = (p) => (uploaded = p.loadedBytes);
  const echo = JSON.parse((await http.sendRequest(up)).bodyAsText ?? '') as EchoReply;
  assert.deepEqual([echo.bodyBytes, uploaded], [PAYLOAD.length, PAYLOAD.length]);
  await http.dispatcher.close();
});

test('http: needs allowInsecureConnection, as with Azure’s own client', async () => {
  const http = client();
  await assert.rejects(http.sendRequest(createPipelineRequest({ url: `${ctx.lab.origins.http.url}/x`, method: 'GET' })), /allowInsecureConnection is false/);
  const res = await http.sendRequest(createPipelineRequest({ url: `${ctx.lab.origins.http.url}/x`, method: 'GET', allowInsecureConnection: true }));
  assert.equal(res.status, 200);
  await http.dispatcher.close();
});

test('failures: a proxy that refuses our credentials is the typed error as is; a refused connection is a RestError with its code (retryable by Azure)', async () => {
  const lab = ctx.lab;
  await lab.kdestroy();
  const http = client();
  await assert.rejects(http.sendRequest(createPipelineRequest({ url: `${lab.origins.https.url}/no-ticket`, method: 'GET' })), { code: 'ERR_JAATO_PROXY_AUTH' });
  await http.dispatcher.close();
  await lab.ensureTicket();
  const direct = createAzureHttpClient({ env: {} });
  const error = await direct.sendRequest(createPipelineRequest({ url: 'https://127.0.0.1:1/', method: 'GET' })).then(() => undefined, (e: unknown) => e);
  assert.ok(isRestError(error), String(error));
  assert.equal(error.code, 'ECONNREFUSED');
  await direct.dispatcher.close();
});

// The timeout only turns a hang (the bug this guards against: a counter that never hears of the abort) into a failure.
test('an abort while the caller reads a streamed body (through the progress counter) ends the stream with an error', { timeout: 20_000 }, async () => {
  const lab = ctx.lab;
  lab.origins.https.mount('/trickle', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(1000)); // and never ends
  });
  const http = client();
  const controller = new AbortController();
  const request = createPipelineRequest({ url: `${lab.origins.https.url}/trickle`, method: 'GET', abortSignal: controller.signal, streamResponseStatusCodes: new Set([200]) });
  request.onDownloadProgress = (p) => {
    if (p.loadedBytes >= 1000) controller.abort();
  };
  const res = await http.sendRequest(request);
  await assert.rejects(async () => {
    for await (const _ of res.readableStreamBody ?? []) void _;
  }, { name: 'AbortError' });
  await http.dispatcher.destroy();
});

// A reset before the response's headers is what Azure's retry policies retry (ECONNRESET): three
// attempts under maxRetries 2, directly and through the Kerberos Squid (there the typed
// ProxyConnectionError or undici's socket error is the cause, the code is Azure's).
test('a connection reset before the headers is retried by the pipeline: RestError ECONNRESET, directly and through the proxy', async () => {
  const lab = ctx.lab;
  let hits = 0;
  lab.origins.https.mount('/reset', (req) => {
    hits++;
    req.socket.destroy();
  });
  for (const [name, http] of [
    ['direct', createAzureHttpClient({ env: {}, ca: lab.ca })],
    ['through Squid', client()],
  ] as const) {
    hits = 0;
    const pipeline = createPipelineFromOptions({ retryOptions: { maxRetries: 2, retryDelayInMs: 1, maxRetryDelayInMs: 2 } });
    const error = await pipeline.sendRequest(http, createPipelineRequest({ url: `${lab.origins.https.url}/reset`, method: 'GET' })).then(() => undefined, (e: unknown) => e);
    assert.ok(isRestError(error), `${name}: ${String(error)}`);
    assert.equal(error.code, 'ECONNRESET', name);
    assert.ok((error as Error).cause instanceof Error, `${name}: the original error is the cause`);
    assert.equal(hits, 3, `${name}: the first attempt and two retries reached the origin`);
    await http.dispatcher.close();
  }
});

test('a proxy that cannot be reached is a retryable RestError (ECONNREFUSED) with the typed error as cause', async () => {
  const http = createAzureHttpClient({ proxy: 'http://127.0.0.1:1', env: {} });
  const error = await http.sendRequest(createPipelineRequest({ url: 'https://example.invalid/', method: 'GET' })).then(() => undefined, (e: unknown) => e);
  assert.ok(isRestError(error), String(error));
  assert.equal(error.code, 'ECONNREFUSED');
  assert.equal(((error as Error).cause as { code?: string }).code, 'ERR_JAATO_PROXY_CONNECT');
  await http.dispatcher.close();
});

test('closing a client made without options closes only its own dispatcher, not the process-wide one', async () => {
  const lab = ctx.lab;
  const http = createAzureHttpClient();
  await http.dispatcher.close();
  const url = `${lab.origins.http.url}/after-close`;
  const res = await fetch(url, getFetchInit(url));
  assert.equal(res.status, 200);
  await res.arrayBuffer();
});

test('repeated response fields as Azure’s own client sees them: joined with ", ", set-cookie and Node’s single-valued fields first only', async () => {
  const lab = ctx.lab;
  lab.origins.https.mount('/repeated', (req, res) => {
    req.resume();
    res.setHeader('x-multi', ['a', 'b']);
    res.setHeader('set-cookie', ['one=1', 'two=2']);
    res.setHeader('retry-after', ['5', '9']);
    res.end('ok');
  });
  const http = client();
  const res = await http.sendRequest(createPipelineRequest({ url: `${lab.origins.https.url}/repeated`, method: 'GET' }));
  assert.deepEqual([res.headers.get('x-multi'), res.headers.get('set-cookie'), res.headers.get('retry-after')], ['a, b', 'one=1', '5']);
  await http.dispatcher.close();
});
