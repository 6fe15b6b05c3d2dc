import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import ModelClient, { isUnexpected } from '@azure-rest/ai-inference';
import { AzureKeyCredential } from '@azure/core-auth';
import { createAzureHttpClient } from '../../src/adapters/azure.js';
import type { Lab } from '../../lab/lab.js';
import { logSince, logUntil, quietLogLength, useLab } from '../helpers/lab.js';
import { mountGitHubModels, STAND_IN_REPLY } from './github-models-stand-in.js';

const ctx = useLab();
const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, JAATO_KERBEROS_PROXY: process.env.JAATO_KERBEROS_PROXY };

let ready = false;

/**
 * HTTPS_PROXY is set as a user behind the Kerberos Squid would have it: Azure's proxy policy reads it and
 * builds an agent of its own, which must not take the request around the adapter. (Called from each
 * test: at the top level Node 20 runs a file's before() hooks concurrently, the lab's included.)
 */
function setUp(): Lab {
  const lab = ctx.lab;
  if (!ready) {
    mountGitHubModels(lab.origins.https);
    process.env.HTTPS_PROXY = lab.proxies.negotiate;
    process.env.JAATO_KERBEROS_PROXY = 'true';
    ready = true;
  }
  return lab;
}
after(() => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
});

function adapter(lab: Lab): ReturnType<typeof createAzureHttpClient> {
  return createAzureHttpClient({ proxy: lab.proxies.negotiate, kerberos: true, ca: lab.ca, env: {} });
}

const question = { messages: [{ role: 'user' as const, content: 'hi' }], model: 'openai/gpt-4.1-mini' };

test('@azure-rest/ai-inference (GitHub Models) with httpClient: createAzureHttpClient(), through the Kerberos Squid', async () => {
  const lab = setUp();
  const from = await quietLogLength(lab);
  const httpClient = adapter(lab);
  const client = ModelClient(lab.origins.https.url, new AzureKeyCredential('github-token'), { httpClient });
  const res = await client.path('/chat/completions').post({ body: question });
  assert.equal(res.status, '200');
  if (isUnexpected(res)) assert.fail(`unexpected answer ${JSON.stringify(res.body)}`);
  assert.equal(res.body.choices[0]?.message.content, STAND_IN_REPLY);
  // The stand-in adds what it saw to the answer; the SDK's type of the body does not know it.
  const seen: unknown = 'seen' in res.body ? res.body.seen : undefined;
  assert.deepEqual(seen, { authorization: 'Bearer github-token', proxyAuthorization: null }, 'the API credential reached the origin, no proxy credential did');
  await httpClient.dispatcher.close();
  const mine = await logSince(lab, from, 1);
  assert.deepEqual(mine.map((e) => [e.method, e.status, e.user]), [['CONNECT', 200, lab.principal]]);
});

test('a streamed completion (asNodeStream, server-sent events) arrives whole through the adapter', async () => {
  const lab = setUp();
  const httpClient = adapter(lab);
  const client = ModelClient(lab.origins.https.url, new AzureKeyCredential('github-token'), { httpClient });
  const res = await client.path('/chat/completions').post({ body: { ...question, stream: true } }).asNodeStream();
  assert.equal(res.status, '200');
  let text = '';
  for await (const chunk of res.body ?? []) text += (chunk as Buffer).toString();
  const words = [...text.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('');
  assert.equal(words.trim(), STAND_IN_REPLY);
  assert.match(text, /data: \[DONE\]/);
  await httpClient.dispatcher.close();
});

test('an abort signal and the pipeline timeout end a request that gets no answer, as AbortError', async () => {
  const lab = setUp();
  const httpClient = adapter(lab);
  const client = ModelClient(lab.origins.https.url, new AzureKeyCredential('github-token'), { httpClient, retryOptions: { maxRetries: 0 } });
  const controller = new AbortController();
  const aborted = client.pathUnchecked('/delay/30000').get({ abortSignal: controller.signal });
  setTimeout(() => controller.abort(), 200);
  await assert.rejects(async () => aborted, { name: 'AbortError' });
  await assert.rejects(async () => client.pathUnchecked('/delay/30000').get({ timeout: 300 }), { name: 'AbortError', message: /timed out after 300 ms/ });
  await httpClient.dispatcher.destroy();
});

test("without the adapter, Azure's own proxy agent meets Squid's 407 (what the adapter is for)", async () => {
  const lab = setUp();
  const from = await quietLogLength(lab);
  const client = ModelClient(lab.origins.https.url, new AzureKeyCredential('github-token'), { retryOptions: { maxRetries: 0 } });
  const res = await client.path('/chat/completions').post({ body: question });
  assert.equal(res.status, '407', "Squid's answer to the CONNECT, handed back as the response");
  // Squid logs a CONNECT when its tunnel closes: the previous test's tunnel (200, the lab user) can be
  // written after this one's line; it is not this request's.
  const mine = (await logUntil(lab, from, (e) => e.method === 'CONNECT' && e.status === 407)).filter((e) => !(e.method === 'CONNECT' && e.status === 200 && e.user === lab.principal));
  assert.deepEqual(mine.map((e) => [e.method, e.status]), [['CONNECT', 407]]);
});
