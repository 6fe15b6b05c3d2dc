import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAgents, createFetch, getAgent } from '../../src/index.js';
import type { EchoReply } from '../../lab/origin.js';
import { logSince, useLab } from '../helpers/lab.js';
import { tlsFrontForSquid } from '../helpers/tls-front.js';
import { get } from 'node:https';

const ctx = useLab();

test('an https:// proxy (TLS to the proxy): Negotiate CONNECT inside TLS, then TLS to the origin inside that; and forwarding', async () => {
  const lab = ctx.lab;
  // A TLS front for the lab's Negotiate Squid: to the client, an https:// proxy named localhost.
  const front = await tlsFrontForSquid(lab);
  const proxy = front.url;
  const options = { proxy, kerberos: true, env: {}, ca: lab.ca, proxyTls: { ca: lab.ca } };
  const from = lab.accessLog().length;
  const f = createFetch(options);
  const agents = createAgents(options);
  try {
    const tunnelled = (await (await f(`${lab.origins.https.url}/over-tls-proxy`)).json()) as EchoReply;
    assert.deepEqual([tunnelled.url, tunnelled.tls], ['/over-tls-proxy', true]);
    const forwarded = (await (await f(`${lab.origins.http.url}/over-tls-proxy`)).json()) as EchoReply;
    assert.match(String(forwarded.headers.via), /squid/);
    const url = `${lab.origins.https.url}/agent-over-tls-proxy`;
    const viaAgent = await new Promise<EchoReply>((resolve, reject) => {
      get(url, { agent: getAgent(url, agents) }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve(JSON.parse(b) as EchoReply));
      }).on('error', reject);
    });
    assert.equal(viaAgent.url, '/agent-over-tls-proxy');
  } finally {
    await f.dispatcher.close();
    agents.https.destroy();
    front.close();
  }
  const mine = await logSince(lab, from, 3);
  assert.deepEqual(mine.map((e) => [e.method, e.status, e.user]).sort(), [
    ['CONNECT', 200, lab.principal],
    ['CONNECT', 200, lab.principal],
    ['GET', 200, lab.principal],
  ]);
});
