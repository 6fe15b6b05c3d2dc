import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { GoogleGenAI } from '@google/genai';
import { Octokit } from '@octokit/rest';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import got from 'got';
import ky from 'ky';
import nodeFetch from 'node-fetch';
import type { Lab } from '../../lab/lab.js';
import type { EchoReply } from '../../lab/origin.js';
import { createAgents, createFetch, getAgent, getGotOptions, install, uninstall, type ProxyDispatcherOptions } from '../../src/index.js';
import { createAxios } from '../../src/adapters/axios.js';
import { useLab } from '../helpers/lab.js';
import { mountStandIns } from './stand-ins.js';

const ctx = useLab();
let mounted = false;

/** The lab's Negotiate Squid for everything, the lab CA trusted, nothing else from the environment. */
function options(lab: Lab): ProxyDispatcherOptions {
  if (!mounted) {
    mountStandIns(lab.origins.https);
    mounted = true;
  }
  return { proxy: lab.proxies.negotiate, kerberos: true, ca: lab.ca, env: {} };
}

/** Runs `fn` and proves its traffic went through Squid's Negotiate port as the lab's user. */
async function throughKerberosSquid(lab: Lab, fn: () => Promise<void>): Promise<void> {
  const from = lab.accessLog().length;
  await fn();
  const deadline = Date.now() + 3000;
  for (;;) {
    const mine = lab.accessLog().slice(from).filter((e) => e.method !== '-');
    if (mine.length > 0 && mine.every((e) => e.status === 200 && e.user === lab.principal)) return;
    if (Date.now() > deadline) assert.fail(`expected authenticated entries in Squid's log, got ${JSON.stringify(mine)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

after(() => uninstall());

test('@anthropic-ai/sdk with fetch: createFetch()', async () => {
  const lab = ctx.lab;
  const fetch = createFetch(options(lab));
  await throughKerberosSquid(lab, async () => {
    const client = new Anthropic({ apiKey: 'test-key', baseURL: lab.origins.https.url, fetch, maxRetries: 0 });
    const msg = await client.messages.create({ model: 'claude-stand-in', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(msg.content, [{ type: 'text', text: 'hello from the anthropic stand-in' }]);
    await fetch.dispatcher.close();
  });
});

test('openai with fetchOptions: { dispatcher }', async () => {
  const lab = ctx.lab;
  const fetch = createFetch(options(lab));
  await throughKerberosSquid(lab, async () => {
    const client = new OpenAI({ apiKey: 'test-key', baseURL: `${lab.origins.https.url}/v1`, fetchOptions: { dispatcher: fetch.dispatcher }, maxRetries: 0 });
    const res = await client.chat.completions.create({ model: 'gpt-stand-in', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.choices[0]?.message.content, 'hello from the openai stand-in');
    await fetch.dispatcher.close();
  });
});

test('@google/genai with httpOptions.fetch', async () => {
  const lab = ctx.lab;
  const fetch = createFetch(options(lab));
  await throughKerberosSquid(lab, async () => {
    const ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: lab.origins.https.url, fetch } });
    const res = await ai.models.generateContent({ model: 'gemini-stand-in', contents: 'hi' });
    assert.equal(res.text, 'hello from the gemini stand-in');
    await fetch.dispatcher.close();
  });
});

test('@octokit/rest with request.fetch', async () => {
  const lab = ctx.lab;
  const fetch = createFetch(options(lab));
  await throughKerberosSquid(lab, async () => {
    const octokit = new Octokit({ baseUrl: lab.origins.https.url, request: { fetch } });
    const { data } = await octokit.rest.repos.get({ owner: 'octo', repo: 'stand-in' });
    assert.equal(data.full_name, 'octo/stand-in');
    await fetch.dispatcher.close();
  });
});

test('@modelcontextprotocol/sdk streamable HTTP client with fetch, GET stream included', async () => {
  const lab = ctx.lab;
  const fetch = createFetch(options(lab));
  await throughKerberosSquid(lab, async () => {
    const client = new McpClient({ name: 'test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${lab.origins.https.url}/mcp`), { fetch }));
    const result = await client.callTool({ name: 'ping', arguments: {} });
    assert.deepEqual(result.content, [{ type: 'text', text: 'pong from the mcp stand-in' }]);
    // The client's standalone GET (server-sent events) stream went the same way.
    const deadline = Date.now() + 2000;
    while (!lab.origins.https.seen.some((s) => s.method === 'GET' && s.url === '/mcp') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    assert.ok(lab.origins.https.seen.some((s) => s.method === 'GET' && s.url === '/mcp' && String(s.headers.accept).includes('text/event-stream')));
    await client.close();
    await fetch.dispatcher.destroy();
  });
});

test('axios (createAxios), got (getGotOptions), node-fetch (agent function), ky (fetch option)', async () => {
  const lab = ctx.lab;
  const url = `${lab.origins.https.url}/echo`;
  await throughKerberosSquid(lab, async () => {
    const api = createAxios({}, options(lab));
    assert.equal((await api.get<EchoReply>(url)).data.url, '/echo');
    const gotOptions = getGotOptions(options(lab));
    assert.equal((await got(url, gotOptions).json<EchoReply>()).url, '/echo');
    const agents = createAgents(options(lab));
    const nf = await nodeFetch(url, { agent: (u: URL) => getAgent(u, agents) });
    assert.equal(((await nf.json()) as EchoReply).url, '/echo');
    const fetch = createFetch(options(lab));
    assert.equal((await ky.create({ fetch }).get(url).json<EchoReply>()).url, '/echo');
    for (const a of [api.defaults.httpsAgent, gotOptions.agent.https, agents.https]) (a as { destroy(): void }).destroy();
    await fetch.dispatcher.close();
  });
});

test('global install, no per-SDK wiring: anthropic, openai, octokit and MCP reach their stand-ins', async () => {
  const lab = ctx.lab;
  await throughKerberosSquid(lab, async () => {
    install(options(lab));
    try {
      const anthropic = new Anthropic({ apiKey: 'k', baseURL: lab.origins.https.url, maxRetries: 0 });
      const msg = await anthropic.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(msg.id, 'msg_1');
      const openai = new OpenAI({ apiKey: 'k', baseURL: `${lab.origins.https.url}/v1`, maxRetries: 0 });
      assert.equal((await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })).id, 'chatcmpl-1');
      assert.equal((await new Octokit({ baseUrl: lab.origins.https.url }).rest.repos.get({ owner: 'o', repo: 'r' })).data.full_name, 'octo/stand-in');
      const mcp = new McpClient({ name: 'test', version: '1.0.0' });
      await mcp.connect(new StreamableHTTPClientTransport(new URL(`${lab.origins.https.url}/mcp`)));
      assert.ok((await mcp.callTool({ name: 'ping', arguments: {} })).content);
      await mcp.close();
    } finally {
      await uninstall();
    }
  });
});
