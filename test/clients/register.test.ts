import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Lab } from '../../lab/lab.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';
import { mountGitHubModels, STAND_IN_REPLY } from '../sdk/github-models-stand-in.js';
import { mountStandIns } from '../sdk/stand-ins.js';

/**
 * One program per client, knowing nothing of jaato-proxy, run as `node --import jaato-proxy/register
 * app` (the built package, resolved as an installed one by self-reference from the project root) with
 * only the environment a user behind the lab's Negotiate Squid has: HTTPS_PROXY/HTTP_PROXY, the
 * Kerberos ticket, JAATO_KERBEROS_PROXY, and the lab's CA in NODE_EXTRA_CA_CERTS. Each must reach the
 * lab's origin, and every line Squid logs for it must name the lab's user with a 200: a request that
 * went direct, or met a 407, fails here. Runs on whichever Node runs the suite (the matrix: 20 to 26).
 */
// A gRPC server of the test's own (h2c on loopback), started before the lab so Squid may CONNECT to it.
const grpcServer = new grpc.Server();
let grpcPort: number;
const ECHO = {
  Echo: {
    path: '/jaato.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer): Buffer => b,
    requestDeserialize: (b: Buffer): Buffer => b,
    responseSerialize: (b: Buffer): Buffer => b,
    responseDeserialize: (b: Buffer): Buffer => b,
  },
};
// Bound at load (top-level await): the lab reads its CONNECT ports in its own before hook.
grpcServer.addService(ECHO, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('echo: '), call.request])) });
grpcPort = await new Promise<number>((resolve, reject) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));
after(() => grpcServer.forceShutdown());
const ctx = useLab({ connectPorts: () => [grpcPort] });
const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // .test-build/test/clients → project root
const APPS = join(ROOT, '.test-build', 'client-apps'); // inside the project, so the programs resolve its node_modules

/** What a program prints of the origin's echo: the path, the body's length, whether it came over TLS. */
const PRINT = `const show = (e) => ({ url: e.url, bytes: e.bodyBytes, tls: e.tls });`;

interface Client {
  name: string;
  /** `.mjs` or `.cjs` */
  ext: string;
  /** The program: argv[2] the http origin, argv[3] the https origin; prints one JSON line. */
  source: string;
  /** What the program must print. */
  expected: unknown;
  /** Squid log lines it makes, at least. */
  lines: number;
  /** More environment (grpc-js reads only the lower-case proxy variables). */
  env?: Record<string, string>;
  /** Checked in the test process after the program ran (what the origin received). */
  check?: (lab: Lab) => void;
}

/** What the S3 stand-in received: one PUT's Expect header and body. */
const uploads: Array<{ expect: string | undefined; bytes: number; sha: string; encoding: string | undefined }> = [];
const S3_BODY = Buffer.alloc(3 * 1024 * 1024, 9);

const BIG = 3 * 1024 * 1024;

const CLIENTS: Client[] = [
  {
    name: 'global fetch',
    ext: 'mjs',
    source: `${PRINT}
const r = await fetch(process.argv[3] + '/c-fetch'); console.log(JSON.stringify(show(await r.json())));`,
    expected: { url: '/c-fetch', bytes: 0, tls: true },
    lines: 1,
  },
  {
    name: 'npm undici: request() and fetch()',
    ext: 'mjs',
    source: `${PRINT}
import { request, fetch } from 'undici';
const a = await (await request(process.argv[3] + '/c-undici-request')).body.json();
const b = await (await fetch(process.argv[2] + '/c-undici-fetch')).json();
console.log(JSON.stringify([show(a), show(b)]));`,
    expected: [{ url: '/c-undici-request', bytes: 0, tls: true }, { url: '/c-undici-fetch', bytes: 0, tls: false }],
    lines: 2,
  },
  {
    name: 'node:http and node:https, no agent (the global agents), ES named imports',
    ext: 'mjs',
    source: `${PRINT}
import { get } from 'node:http';
import https from 'node:https';
const read = (res, resolve) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(JSON.parse(b))); };
const a = await new Promise((resolve, reject) => get(process.argv[2] + '/c-http', (res) => read(res, resolve)).on('error', reject));
const b = await new Promise((resolve, reject) => https.get(process.argv[3] + '/c-https', (res) => read(res, resolve)).on('error', reject));
console.log(JSON.stringify([show(a), show(b)]));`,
    expected: [{ url: '/c-http', bytes: 0, tls: false }, { url: '/c-https', bytes: 0, tls: true }],
    lines: 2,
  },
  {
    name: "node:https on the program's own https.Agent: an AWS-SDK-style upload with Expect: 100-continue lands whole",
    ext: 'mjs',
    source: `${PRINT}
import https from 'node:https';
import http from 'node:http';
import { createHash } from 'node:crypto';
// As @smithy/node-http-handler does: an agent of its own, keep-alive, Expect on a large body, the body sent on 'continue'.
const body = Buffer.alloc(${BIG}, 7);
const put = (mod, agent, url) => new Promise((resolve, reject) => {
  let continued = false;
  const req = mod.request(url, { method: 'PUT', agent, headers: { expect: '100-continue', 'content-length': body.length } }, (res) => {
    let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => { const e = JSON.parse(b); resolve({ ...show(e), sha: e.bodySha256, continued }); });
  });
  req.on('continue', () => { continued = true; req.end(body); });
  req.on('error', reject);
});
const a = await put(https, new https.Agent({ keepAlive: true, maxSockets: 50 }), process.argv[3] + '/c-s3-put');
const b = await put(http, new http.Agent({ keepAlive: true }), process.argv[2] + '/c-own-http-put');
console.log(JSON.stringify([a, b, createHash('sha256').update(body).digest('hex')]));`,
    expected: 'see below',
    lines: 2,
  },
  {
    name: 'axios, ES module (no installAxios call)',
    ext: 'mjs',
    source: `${PRINT}
import axios from 'axios';
const a = (await axios.get(process.argv[3] + '/c-axios-esm')).data;
const b = (await axios.post(process.argv[2] + '/c-axios-esm-http', { x: 1 })).data;
console.log(JSON.stringify([show(a), show(b).url]));`,
    expected: [{ url: '/c-axios-esm', bytes: 0, tls: true }, '/c-axios-esm-http'],
    lines: 2,
  },
  {
    name: 'axios, CommonJS (no installAxios call)',
    ext: 'cjs',
    source: `${PRINT}
const axios = require('axios');
(async () => {
  const a = (await axios.get(process.argv[3] + '/c-axios-cjs')).data;
  const b = (await axios.create().get(process.argv[2] + '/c-axios-cjs-http')).data;
  console.log(JSON.stringify([show(a), show(b).url]));
})().catch((e) => { console.error(e.message); process.exit(1); });`,
    expected: [{ url: '/c-axios-cjs', bytes: 0, tls: true }, '/c-axios-cjs-http'],
    lines: 2,
  },
  {
    name: 'got',
    ext: 'mjs',
    source: `${PRINT}
import got from 'got';
console.log(JSON.stringify(show(await got(process.argv[3] + '/c-got').json())));`,
    expected: { url: '/c-got', bytes: 0, tls: true },
    lines: 1,
  },
  {
    name: 'ky',
    ext: 'mjs',
    source: `${PRINT}
import ky from 'ky';
console.log(JSON.stringify(show(await ky.get(process.argv[3] + '/c-ky').json())));`,
    expected: { url: '/c-ky', bytes: 0, tls: true },
    lines: 1,
  },
  {
    name: 'node-fetch',
    ext: 'mjs',
    source: `${PRINT}
import fetch from 'node-fetch';
const a = await (await fetch(process.argv[3] + '/c-node-fetch')).json();
const b = await (await fetch(process.argv[2] + '/c-node-fetch-http')).json();
console.log(JSON.stringify([show(a), show(b).url]));`,
    expected: [{ url: '/c-node-fetch', bytes: 0, tls: true }, '/c-node-fetch-http'],
    lines: 2,
  },
  {
    name: 'superagent',
    ext: 'mjs',
    source: `${PRINT}
import superagent from 'superagent';
const a = (await superagent.get(process.argv[3] + '/c-superagent')).body;
const b = (await superagent.post(process.argv[2] + '/c-superagent-http').send({ x: 1 })).body;
console.log(JSON.stringify([show(a), show(b).url]));`,
    expected: [{ url: '/c-superagent', bytes: 0, tls: true }, '/c-superagent-http'],
    lines: 2,
  },
  {
    name: 'ws: ws:// and wss://, no agent given',
    ext: 'mjs',
    source: `
import WebSocket from 'ws';
const echo = (url) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  ws.on('open', () => ws.send('hello'));
  ws.on('message', (m) => { resolve(String(m)); ws.close(); });
  ws.on('error', reject);
});
const ws = (u) => u.replace(/^http/, 'ws');
console.log(JSON.stringify([await echo(ws(process.argv[2]) + '/ws/c-plain'), await echo(ws(process.argv[3]) + '/ws/c-secure')]));`,
    expected: ['hello', 'hello'],
    lines: 2,
  },
  {
    name: 'AWS SDK v3 S3 PutObject of 3 MiB: Expect: 100-continue on an agent of its own, the body lands whole',
    ext: 'mjs',
    source: `
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
const s3 = new S3Client({ region: 'us-east-1', endpoint: process.argv[3], forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'AKIDJAATO', secretAccessKey: 'not-a-secret' } });
const out = await s3.send(new PutObjectCommand({ Bucket: 'c-bucket', Key: 'big.bin', Body: Buffer.alloc(${3 * 1024 * 1024}, 9) }));
console.log(JSON.stringify(out.$metadata.httpStatusCode));`,
    expected: 200,
    lines: 1,
    check: () => {
      assert.equal(uploads.length, 1, 'one PUT reached the origin');
      assert.deepEqual(uploads[0], { expect: '100-continue', bytes: S3_BODY.length, sha: createHash('sha256').update(S3_BODY).digest('hex'), encoding: undefined });
    },
  },
  {
    name: 'grpc-js: its own CONNECT (from https_proxy) is authenticated on the way',
    ext: 'mjs',
    source: `
import grpc from '@grpc/grpc-js';
const Client = grpc.makeGenericClientConstructor({ Echo: { path: '/jaato.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b } }, 'Echo');
const client = new Client(process.argv[4], grpc.credentials.createInsecure());
client.Echo(Buffer.from('hi'), (error, answer) => {
  if (error) { console.error(error.message); process.exit(1); }
  console.log(JSON.stringify(String(answer)));
  client.close();
});`,
    expected: 'echo: hi',
    lines: 1,
    env: { https_proxy: 'PROXY' },
  },
  {
    name: 'OpenAI, Anthropic, Google GenAI, Octokit and MCP SDKs',
    ext: 'mjs',
    source: `
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { Octokit } from '@octokit/rest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
const base = process.argv[3];
const out = [];
out.push((await new OpenAI({ apiKey: 'k', baseURL: base + '/v1', maxRetries: 0 }).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })).id);
out.push((await new Anthropic({ apiKey: 'k', baseURL: base, maxRetries: 0 }).messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })).id);
out.push((await new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: base } }).models.generateContent({ model: 'gemini-stand-in', contents: 'hi' })).text);
out.push((await new Octokit({ baseUrl: base }).rest.repos.get({ owner: 'o', repo: 'r' })).data.full_name);
const mcp = new Client({ name: 't', version: '1.0.0' });
await mcp.connect(new StreamableHTTPClientTransport(new URL(base + '/mcp')));
out.push((await mcp.callTool({ name: 'ping', arguments: {} })).content[0].text);
await mcp.close();
console.log(JSON.stringify(out));`,
    expected: ['chatcmpl-1', 'msg_1', 'hello from the gemini stand-in', 'octo/stand-in', 'pong from the mcp stand-in'],
    lines: 1,
  },
  {
    name: "Azure: @azure-rest/ai-inference and a bare core-rest-pipeline request (its proxy policy's own agents from HTTPS_PROXY)",
    ext: 'mjs',
    source: `
import ModelClient from '@azure-rest/ai-inference';
import { AzureKeyCredential } from '@azure/core-auth';
import { createPipelineFromOptions, createDefaultHttpClient, createPipelineRequest } from '@azure/core-rest-pipeline';
const client = ModelClient(process.argv[3], new AzureKeyCredential('github-token'), { retryOptions: { maxRetries: 0 } });
const res = await client.path('/chat/completions').post({ body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } });
const pipeline = createPipelineFromOptions({ retryOptions: { maxRetries: 0 } });
const bare = await pipeline.sendRequest(createDefaultHttpClient(), createPipelineRequest({ url: process.argv[2] + '/c-azure-http', allowInsecureConnection: true }));
console.log(JSON.stringify([res.status, res.body.choices[0].message.content, bare.status, JSON.parse(bare.bodyAsText).url]));`,
    expected: ['200', STAND_IN_REPLY, 200, '/c-azure-http'],
    lines: 2,
  },
  {
    name: "Google: gaxios (google-auth-library's transport: node-fetch on an https-proxy-agent from HTTPS_PROXY)",
    ext: 'mjs',
    source: `${PRINT}
import { request } from 'gaxios';
const a = (await request({ url: process.argv[3] + '/c-gaxios', retry: false })).data;
const b = (await request({ url: process.argv[2] + '/c-gaxios-http', retry: false })).data;
console.log(JSON.stringify([show(a), show(b).url]));`,
    expected: [{ url: '/c-gaxios', bytes: 0, tls: true }, '/c-gaxios-http'],
    lines: 2,
  },
];

let standIns = false;

async function runClient(lab: Lab, client: Client): Promise<{ printed: unknown; stderr: string }> {
  if (!standIns) {
    mountStandIns(lab.origins.https);
    mountGitHubModels(lab.origins.https);
    lab.origins.https.mount('/c-bucket', (req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      req.on('end', () => {
        uploads.push({ expect: req.headers.expect, bytes, sha: hash.digest('hex'), encoding: req.headers['content-encoding'] });
        res.writeHead(200, { etag: '"stand-in"', 'content-length': 0 }).end();
      });
    });
    standIns = true;
  }
  mkdirSync(APPS, { recursive: true });
  const file = join(APPS, `${client.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}.${client.ext}`);
  writeFileSync(file, client.source);
  const ca = join(lab.dir, 'ca.pem');
  writeFileSync(ca, lab.ca);
  const env = {
    PATH: process.env.PATH,
    ...lab.env,
    HTTPS_PROXY: lab.proxies.negotiate,
    HTTP_PROXY: lab.proxies.negotiate,
    NO_PROXY: '',
    JAATO_KERBEROS_PROXY: 'true',
    NODE_EXTRA_CA_CERTS: ca,
    ...Object.fromEntries(Object.entries(client.env ?? {}).map(([k, v]) => [k, v === 'PROXY' ? lab.proxies.negotiate : v])),
  };
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'jaato-proxy/register', file, lab.origins.http.url, lab.origins.https.url, `127.0.0.1:${grpcPort}`], { cwd: ROOT, env, timeout: 60_000 });
    return { printed: JSON.parse(stdout.trim().split('\n').pop() ?? 'null'), stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    assert.fail(`${client.name}: the program failed: ${e.message}\nstdout: ${e.stdout ?? ''}\nstderr: ${e.stderr ?? ''}\nSquid: ${JSON.stringify(lab.accessLog().slice(-3))}`);
  }
}

describe('node --import jaato-proxy/register: each client, unmodified, through the Negotiate Squid as the lab user', () => {
  for (const client of CLIENTS) {
    test(client.name, async () => {
      const lab = ctx.lab;
      const from = await quietLogLength(lab);
      const { printed } = await runClient(lab, client);
      if (client.expected === 'see below') {
        const [a, b, sha] = printed as [Record<string, unknown>, Record<string, unknown>, string];
        for (const [r, url, tls] of [[a, '/c-s3-put', true], [b, '/c-own-http-put', false]] as const) {
          assert.deepEqual(r, { url, bytes: BIG, sha, tls, continued: true }, `${url}: the 100 came, the body landed whole`);
        }
      } else {
        assert.deepEqual(printed, client.expected);
      }
      client.check?.(lab);
      const log = await logSince(lab, from, client.lines);
      assert.ok(log.length >= client.lines, `${client.name}: ${log.length} Squid lines, expected ${client.lines} or more`);
      for (const e of log) assert.deepEqual([e.method, e.status, e.user], [e.method, 200, lab.principal], `${client.name}: ${JSON.stringify(e)}`);
    });
  }
});
