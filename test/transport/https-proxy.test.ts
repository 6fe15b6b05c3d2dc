import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgents, createFetch, getAgent } from '../../src/index.js';
import type { EchoReply } from '../../src/lab/origin.js';
import { logSince, useLab } from '../helpers/lab.js';
import { get } from 'node:https';

const ctx = useLab();

test('an https:// proxy (TLS to the proxy): Negotiate CONNECT inside TLS, then TLS to the origin inside that; and forwarding', async () => {
  const lab = ctx.lab;
  // A TLS front for the lab's Negotiate Squid: to the client, an https:// proxy named localhost.
  const front = createServer({ key: readFileSync(join(lab.dir, 'origin.key')), cert: readFileSync(join(lab.dir, 'origin.pem')) }, (tls) => {
    const squid = connect(Number(new URL(lab.proxies.negotiate).port), '127.0.0.1');
    tls.pipe(squid).pipe(tls);
    tls.on('error', () => squid.destroy());
    squid.on('error', () => tls.destroy());
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const proxy = `https://localhost:${(front.address() as AddressInfo).port}`;
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
