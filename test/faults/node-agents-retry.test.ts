// The node agents through a proxy restart (issue 25): a request issued while the proxy is down waits
// the outage out (its dial is retried: nothing of it had left), and a node:https request in flight on
// a tunnel the kill cut fails as the proxy's ProxyConnectionError, never an untyped "socket hang up".
// Real Squid (a connection per client) and the per-request Apache, killed (SIGKILL) and started again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { get as httpGet, type Agent as HttpAgent } from 'node:http';
import { get as httpsGet, type Agent as HttpsAgent } from 'node:https';
import { connect, createServer, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgents, JaatoProxyError, ProxyConnectionError } from '../../src/index.js';
import { ProxyTimeoutError } from '../../src/transport/errors.js';
import { scriptedProxy } from '../helpers/scripted-proxy.js';
import { RETRY_DELAYS } from '../../src/transport/retry-decision.js';
import type { RetryEvent } from '../../src/transport/retry-report.js';
import type { Lab } from '../../lab/lab.js';
import { useLab } from '../helpers/lab.js';

const ctx = useLab();
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `condition` every 25 ms until it holds, or fails naming `what` after `ms`. */
async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `never: ${what}`);
    await delay(25);
  }
}

type Outcome = number | Error;

/** A GET through `agent`: its status once the body is read, or the error the request (or its answer) emitted. */
function get(lab: Lab, url: string, agent: HttpAgent | HttpsAgent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https:') ? httpsGet : httpGet)(url, { agent, ca: lab.ca }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', resolve);
    });
    req.on('error', resolve);
  });
}

async function restartUnderAgents(lab: Lab, proxy: string, restart: () => Promise<void>, tag: string) {
  const agents = createAgents({ proxy, kerberos: true, env: {}, connectTimeout: 5000 });
  // Requests issued during the outage go on agents of their own, so none picks up a pooled connection
  // the kill is closing (that race is the pool's, not the dial's).
  const outageAgents = createAgents({ proxy, kerberos: true, env: {}, connectTimeout: 5000 });
  const retries: RetryEvent[] = [];
  const listener = (m: unknown): void => void retries.push(m as RetryEvent);
  subscribe('jaato-proxy:retry', listener);
  try {
    assert.equal(await get(lab, `${lab.origins.https.url}/warm-${tag}`, agents.https), 200);
    assert.equal(await get(lab, `${lab.origins.http.url}/warm-${tag}`, agents.http), 200);
    const inFlight = [0, 1, 2].map((i) => get(lab, `${lab.origins.https.url}/delay/3000?na-${tag}-${i}`, agents.https));
    // Forwarded http in flight too: ForwardConnection types (or resends) what the kill cuts.
    const forwarded = [0, 1].map((i) => get(lab, `${lab.origins.http.url}/delay/3000?nf-${tag}-${i}`, agents.http));
    await until(() => lab.origins.https.seen.filter((s) => s.url.startsWith(`/delay/3000?na-${tag}-`)).length >= 3, 'the 3 https requests reached the origin through the proxy');
    await until(() => lab.origins.http.seen.filter((s) => s.url.startsWith(`/delay/3000?nf-${tag}-`)).length >= 2, 'the 2 http requests reached the origin through the proxy');
    const restarting = restart();
    let up = false;
    let upAt = Infinity;
    void restarting.then(() => ((up = true), (upAt = performance.now())), () => (up = true));
    // From when the kill has taken effect (a request in flight was cut): one issued before could reach
    // the dying proxy and be cut in flight, which is not the dial's case.
    await Promise.race(inFlight);
    const during: Array<Promise<Outcome>> = [];
    const startedAt: number[] = [];
    for (let n = 0; !up || n < 2; n++) {
      startedAt.push(performance.now(), performance.now());
      during.push(get(lab, `${lab.origins.https.url}/node-outage-${tag}-${n}`, outageAgents.https), get(lab, `${lab.origins.http.url}/node-outage-${tag}-${n}`, outageAgents.http));
      await delay(30);
    }
    await restarting;
    // The dial's retries wait RETRY_DELAYS in all: a request begun longer than that before the proxy was
    // back is not promised to wait the outage out (a loaded machine can drag a restart past it).
    const span = RETRY_DELAYS.reduce((a, b) => a + b, 0);
    const promised = (await Promise.all(during)).filter((_, i) => upAt - (startedAt[i] ?? 0) <= span);
    return { inFlight: await Promise.all(inFlight), forwarded: await Promise.all(forwarded), during: promised, retries };
  } finally {
    unsubscribe('jaato-proxy:retry', listener);
    agents.https.destroy();
    agents.http.destroy();
    outageAgents.https.destroy();
    outageAgents.http.destroy();
  }
}

function check(r: { inFlight: Outcome[]; forwarded: Outcome[]; during: Outcome[]; retries: RetryEvent[] }, tag: string): void {
  const show = (o: Outcome): string => (o instanceof Error ? `${o.constructor.name} ${(o as { code?: string }).code}: ${o.message}` : String(o));
  assert.ok(r.during.length >= 2, 'requests were issued during the outage');
  assert.deepEqual(r.during.filter((o) => o !== 200).map(show), [], 'every request issued during the outage waited it out');
  // Cut in flight on a tunnel: not resent (node:http's caller wrote the request), but typed.
  for (const o of r.inFlight) assert.ok(o === 200 || o instanceof ProxyConnectionError, `a request cut on its tunnel: ${show(o)}`);
  assert.ok(r.inFlight.some((o) => o instanceof JaatoProxyError), 'the kill cut a request in flight (else this proves nothing)');
  for (const o of r.forwarded) assert.ok(o === 200 || o instanceof JaatoProxyError, `a forwarded request cut in flight: ${show(o)}`);
  for (const e of r.retries) assert.ok(e.attempt >= 2 && (e.reason === 'refused' || e.reason === 'tunnel-closed' || e.reason === 'closed'), JSON.stringify(e));
  if (tag === 'squid') {
    assert.ok(r.retries.some((e) => e.method === 'CONNECT' && e.reason === 'refused'), `a refused CONNECT dial was waited out: ${JSON.stringify(r.retries)}`);
    assert.ok(r.retries.some((e) => e.method === 'GET' && e.reason === 'refused'), `a refused forwarded dial was waited out: ${JSON.stringify(r.retries)}`);
  }
}

test('node agents through Squid, killed and restarted: requests during the outage succeed; an https request cut on its tunnel is a ProxyConnectionError', async () => {
  const lab = ctx.lab;
  check(await restartUnderAgents(lab, lab.proxies.negotiate, () => lab.restartSquid(), 'squid'), 'squid');
});

test('node agents through the per-request Apache, killed and restarted: the same', async () => {
  const lab = ctx.lab;
  check(await restartUnderAgents(lab, lab.proxies.perRequest, () => lab.restartApache(), 'apache'), 'apache');
});

test('node:https: the CONNECT bound runs from the dial, so a slow token leaves less wait for the answer', async () => {
  const lab = ctx.lab;
  // A KDC reached through a relay that holds each connection 1.5 s: the service ticket (a fresh cache
  // with a TGT only) takes that long. Then a proxy that never answers CONNECT.
  const held = new Set<Socket>();
  const realPort = Number(/kdc = 127\.0\.0\.1:(\d+)/.exec(readFileSync(lab.env.KRB5_CONFIG as string, 'utf8'))?.[1]);
  assert.ok(realPort > 0, 'the lab krb5.conf names its KDC');
  const relay = createServer((client) => {
    held.add(client);
    client.pause();
    client.on('error', () => undefined);
    setTimeout(() => {
      const kdc = connect(realPort, '127.0.0.1');
      kdc.on('error', () => client.destroy());
      held.add(kdc);
      client.pipe(kdc).pipe(client);
      client.resume();
    }, 1500);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const conf = join(lab.dir, 'slow-kdc-krb5.conf');
  writeFileSync(conf, readFileSync(lab.env.KRB5_CONFIG as string, 'utf8').replace(/(kdc = 127\.0\.0\.1:)\d+/, `$1${(relay.address() as { port: number }).port}`));
  const ccache = join(lab.dir, 'slow-kdc-ccache');
  await lab.kinit({ ccache });
  const saved = { conf: process.env.KRB5_CONFIG, cache: process.env.KRB5CCNAME };
  process.env.KRB5_CONFIG = conf;
  process.env.KRB5CCNAME = `FILE:${ccache}`;
  const silent = await scriptedProxy(() => undefined);
  const agents = createAgents({ proxy: silent.url, kerberos: true, env: {}, connectTimeout: 2500 });
  try {
    const began = performance.now();
    const outcome = await get(lab, 'https://origin.test/', agents.https);
    const took = performance.now() - began;
    assert.ok(outcome instanceof ProxyTimeoutError && outcome.phase === 'connect-response', String(outcome));
    assert.ok(silent.heads.some((h) => h.startsWith('CONNECT ') && h.includes('Proxy-Authorization: Negotiate')), 'the CONNECT went, with the slow token');
    // 1.5 s for the token + 2.5 s for the answer without the deadline; 2.5 s in all with it.
    assert.ok(took < 3400, `the CONNECT phase took ${Math.round(took)} ms, bound 2500`);
  } finally {
    agents.https.destroy();
    await silent.close();
    for (const s of held) s.destroy();
    await new Promise<void>((r) => relay.close(() => r()));
    process.env.KRB5_CONFIG = saved.conf;
    process.env.KRB5CCNAME = saved.cache;
  }
});
