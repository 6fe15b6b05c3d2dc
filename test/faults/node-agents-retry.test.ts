// The node agents through a proxy restart (issue 25): a request issued while the proxy is down waits
// the outage out (its dial is retried: nothing of it had left); a GET in flight when the kill cut it,
// before any byte of its answer, is sent again on a new connection (forwarded http and https tunnels);
// a POST in flight, or a GET whose answer had begun, fails as the proxy's ProxyConnectionError, never
// an untyped "socket hang up", and the POST is not sent again.
// Real Squid (a connection per client) and the per-request Apache, killed (SIGKILL) and started again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { get as httpGet, request as httpRequest, type Agent as HttpAgent } from 'node:http';
import { get as httpsGet, request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import { connect, createServer, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAgents, JaatoProxyError, ProxyConnectionError } from '../../src/index.js';
import { ProxyTimeoutError } from '../../src/transport/errors.js';
import { scriptedProxy } from '../helpers/scripted-proxy.js';
import { RETRY_DELAYS } from '../../src/transport/retry-decision.js';
import type { RetryEvent } from '../../src/transport/retry-report.js';
import type { Lab, RestartOptions } from '../../lab/lab.js';
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

/** A POST of a small body through `agent`: its status once the answer is read, or the error it failed with. */
function post(lab: Lab, url: string, agent: HttpAgent | HttpsAgent): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method: 'POST', agent, ca: lab.ca, headers: { 'content-type': 'text/plain' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', resolve);
    });
    req.on('error', resolve);
    req.end('a body that must reach the origin once at most');
  });
}

/** A GET whose answer's head (and 10 bytes of 100) arrive at once and the rest never: `begun` once the head is read. */
function begunGet(lab: Lab, url: string, agent: HttpAgent | HttpsAgent): { begun: Promise<void>; outcome: Promise<Outcome> } {
  let begun!: () => void;
  const started = new Promise<void>((r) => (begun = r));
  const outcome = new Promise<Outcome>((resolve) => {
    const req = (url.startsWith('https:') ? httpsGet : httpGet)(url, { agent, ca: lab.ca }, (res) => {
      begun();
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', resolve);
    });
    req.on('error', resolve);
  });
  return { begun: started, outcome };
}

/** How often an origin saw `url` (path and query). */
const seenTimes = (lab: Lab, url: string): number => [...lab.origins.http.seen, ...lab.origins.https.seen].filter((s) => s.url === url).length;

async function restartUnderAgents(lab: Lab, proxy: string, restart: (options: RestartOptions) => Promise<void>, tag: string) {
  const agents = createAgents({ proxy, kerberos: true, env: {}, connectTimeout: 5000 });
  // Requests issued during the outage go on agents of their own, so none picks up a pooled connection
  // the kill is closing (that race is the pool's, not the dial's).
  const outageAgents = createAgents({ proxy, kerberos: true, env: {}, connectTimeout: 5000 });
  const retries: RetryEvent[] = [];
  const cleanups: Array<() => void> = [];
  const listener = (m: unknown): void => void retries.push(m as RetryEvent);
  subscribe('jaato-proxy:retry', listener);
  try {
    assert.equal(await get(lab, `${lab.origins.https.url}/warm-${tag}`, agents.https), 200);
    assert.equal(await get(lab, `${lab.origins.http.url}/warm-${tag}`, agents.http), 200);
    for (const origin of [lab.origins.http, lab.origins.https]) {
      origin.mount('/begun', (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-length': 100 }).write('0123456789');
        const timer = setTimeout(() => res.end('x'.repeat(90)), 3000);
        res.on('close', () => clearTimeout(timer));
      });
    }
    const cutStart = performance.now();
    const inFlight = [0, 1, 2].map((i) => get(lab, `${lab.origins.https.url}/delay/3000?na-${tag}-${i}`, agents.https));
    // Forwarded http in flight too.
    const forwarded = [0, 1].map((i) => get(lab, `${lab.origins.http.url}/delay/3000?nf-${tag}-${i}`, agents.http));
    // POSTs in flight, on agents of their own so that none is queued behind a GET.
    const postAgents = createAgents({ proxy, kerberos: true, env: {}, connectTimeout: 5000 });
    const postUrls = [`${lab.origins.https.url}/delay/3000?np-${tag}-s`, `${lab.origins.http.url}/delay/3000?np-${tag}-f`];
    const posts = postUrls.map((url) => post(lab, url, url.startsWith('https:') ? postAgents.https : postAgents.http));
    const begunUrls = [`${lab.origins.https.url}/begun?${tag}-s`, `${lab.origins.http.url}/begun?${tag}-f`];
    const begun = begunUrls.map((url) => begunGet(lab, url, url.startsWith('https:') ? postAgents.https : postAgents.http));
    cleanups.push(() => (postAgents.https.destroy(), postAgents.http.destroy()));
    await until(() => lab.origins.https.seen.filter((s) => s.url.startsWith(`/delay/3000?na-${tag}-`)).length >= 3, 'the 3 https requests reached the origin through the proxy');
    await until(() => lab.origins.http.seen.filter((s) => s.url.startsWith(`/delay/3000?nf-${tag}-`)).length >= 2, 'the 2 http requests reached the origin through the proxy');
    await until(() => postUrls.every((u) => seenTimes(lab, new URL(u).pathname + new URL(u).search) === 1), 'the POSTs reached the origin through the proxy');
    await Promise.all(begun.map((b) => b.begun));
    // Squid is held down until a CONNECT dial and a forwarded one were refused (the checks below need
    // both): at load 10-15 a quick restart could be over before the outage's requests reached a dial.
    const refused = (method: string): boolean => retries.some((e) => e.method === method && e.reason === 'refused');
    const restarting = restart(tag === 'squid' ? { whileDown: () => until(() => refused('CONNECT') && refused('GET'), 'a CONNECT and a forwarded dial refused while Squid was down') } : {});
    let up = false;
    let upAt = Infinity;
    void restarting.then(() => ((up = true), (upAt = performance.now())), () => (up = true));
    // From when the kill has taken effect (a request in flight was cut): one issued before could reach
    // the dying proxy and be cut in flight, which is not the dial's case.
    await Promise.race(posts);
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
    const path = (u: string): string => new URL(u).pathname + new URL(u).search;
    return {
      // As for the outage's requests: sent again within the retries' span of their start, or not promised
      // (then typed). The kill comes a moment after they began, so that is a restart that a loaded
      // machine drags on; each was cut and sent again all the same (the channel shows it).
      inFlight: (await Promise.all(inFlight)).filter((o) => o === 200 || upAt - cutStart <= span || !(o instanceof ProxyConnectionError)),
      forwarded: (await Promise.all(forwarded)).filter((o) => o === 200 || upAt - cutStart <= span || !(o instanceof JaatoProxyError)),
      cut: inFlight.length + forwarded.length,
      posts: await Promise.all(posts),
      postsSeen: postUrls.map((u) => seenTimes(lab, path(u))),
      begun: await Promise.all(begun.map((b) => b.outcome)),
      begunSeen: begunUrls.map((u) => seenTimes(lab, path(u))),
      during: promised,
      retries,
    };
  } finally {
    for (const cleanup of cleanups) cleanup();
    unsubscribe('jaato-proxy:retry', listener);
    agents.https.destroy();
    agents.http.destroy();
    outageAgents.https.destroy();
    outageAgents.http.destroy();
  }
}

type Result = Awaited<ReturnType<typeof restartUnderAgents>>;

function check(r: Result, tag: string): void {
  const show = (o: Outcome): string => (o instanceof Error ? `${o.constructor.name} ${(o as { code?: string }).code}: ${o.message}` : String(o));
  assert.ok(r.during.length >= 2, 'requests were issued during the outage');
  assert.deepEqual(r.during.filter((o) => o !== 200).map(show), [], 'every request issued during the outage waited it out');
  // The kill cut them (the POSTs beside them failed, below); each went again on a new connection.
  assert.deepEqual(r.inFlight.filter((o) => o !== 200).map(show), [], 'every https GET cut in flight on its tunnel was sent again');
  assert.deepEqual(r.forwarded.filter((o) => o !== 200).map(show), [], 'every forwarded GET cut in flight was sent again');
  const resent = r.retries.filter((e) => e.method === 'GET' && e.reason === 'closed');
  assert.ok(resent.length >= r.cut, `each GET cut in flight was reported on the channel: ${JSON.stringify(r.retries)}`);
  // A POST that reached the origin is never sent twice: it fails, typed.
  for (const o of r.posts) assert.ok(o instanceof ProxyConnectionError, `a POST cut in flight: ${show(o)}`);
  assert.deepEqual(r.postsSeen, [1, 1], 'the origin saw each POST once');
  // A GET whose answer had begun is not sent again either.
  for (const o of r.begun) assert.ok(o instanceof JaatoProxyError, `a GET cut after its answer began: ${r.begun.map(show).join(" / ")}`);
  assert.deepEqual(r.begunSeen, [1, 1], 'the origin saw each GET whose answer had begun once');
  for (const e of r.retries) assert.ok(e.attempt >= 2 && (e.reason === 'refused' || e.reason === 'tunnel-closed' || e.reason === 'closed'), JSON.stringify(e));
  if (tag === 'squid') {
    assert.ok(r.retries.some((e) => e.method === 'CONNECT' && e.reason === 'refused'), `a refused CONNECT dial was waited out: ${JSON.stringify(r.retries)}`);
    assert.ok(r.retries.some((e) => e.method === 'GET' && e.reason === 'refused'), `a refused forwarded dial was waited out: ${JSON.stringify(r.retries)}`);
  }
}

test('node agents through Squid, killed and restarted: GETs in flight are sent again and succeed, as do requests during the outage; a POST in flight, or a GET whose answer began, is a ProxyConnectionError, sent once', async () => {
  const lab = ctx.lab;
  check(await restartUnderAgents(lab, lab.proxies.negotiate, (o) => lab.restartSquid(o), 'squid'), 'squid');
});

test('node agents through the per-request Apache, killed and restarted: the same', async () => {
  const lab = ctx.lab;
  check(await restartUnderAgents(lab, lab.proxies.perRequest, (o) => lab.restartApache(o), 'apache'), 'apache');
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
