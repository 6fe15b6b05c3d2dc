// A proxy restart loses no idempotent request: each one cut in flight, or issued while the proxy was
// down, is sent again on a new connection (retry-decision.ts); a POST that may have reached the proxy
// is never sent twice, and fails typed. Real Squid and Apache, killed (SIGKILL) and started again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { ProxyAgent, request as undiciRequest } from 'undici';
import { createAgents, createFetch, JaatoProxyError, unwrapError } from '../../src/index.js';
import { startLocalProxy } from '../../src/server/local-proxy.js';
import { RETRY_BUDGET, RETRY_DELAYS } from '../../src/transport/retry-decision.js';
import type { RetryEvent } from '../../src/transport/retry-report.js';
import type { Lab } from '../../lab/lab.js';
import { useLab } from '../helpers/lab.js';
import { scriptedProxy } from '../helpers/scripted-proxy.js';

/**
 * The retries wait RETRY_DELAYS in all before their last attempt: a request issued during an outage is
 * promised to wait it out only when the proxy is back within that span of its start. A restart that a
 * loaded machine drags past it may fail the earliest ones (typed); the later ones must all succeed.
 */
const RETRY_SPAN = RETRY_DELAYS.reduce((a, b) => a + b, 0);

const ctx = useLab();
/** Process warnings (a listener leak on a shared signal would show here). */
const warnings: string[] = [];
process.on('warning', (w) => void warnings.push(`${w.name}: ${w.message}`));
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `condition` every 25 ms until it holds, or fails naming `what` after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `never: ${what}`);
    await delay(25);
  }
}

/** Every retry published on the channel while `run` runs. */
async function retriesDuring<T>(run: (retries: readonly RetryEvent[]) => Promise<T>): Promise<{ result: T; retries: RetryEvent[] }> {
  const retries: RetryEvent[] = [];
  const listener = (message: unknown): void => void retries.push(message as RetryEvent);
  subscribe('jaato-proxy:retry', listener);
  try {
    return { result: await run(retries), retries };
  } finally {
    unsubscribe('jaato-proxy:retry', listener);
  }
}

/**
 * Holds the proxy down until a dial to it was refused and retried: at load 10-15 a restart could be over
 * before the requests issued during it reached their dial, and the outage went unseen. The requests
 * begun during the hold are promised only if it ends within the retries' span of their start.
 */
function refusalSeen(retries: readonly RetryEvent[], method?: string): Promise<void> {
  return until(() => retries.some((e) => e.reason === 'refused' && (method === undefined || e.method === method)), `a dial refused (${method ?? 'any method'}) while the proxy was down`);
}

/** How often the lab's origins saw `path` (with any query). */
function seen(lab: Lab, path: string): number {
  return [...lab.origins.http.seen, ...lab.origins.https.seen].filter((r) => r.url.split('?')[0] === path).length;
}

type Outcome = number | unknown;
const settle = (p: Promise<Response>): Promise<Outcome> => p.then((r) => r.text().then(() => r.status)).catch((e: unknown) => unwrapError(e));

/**
 * GETs (tunnelled and forwarded) and POSTs in flight on `/delay/…` when the proxy is killed, and
 * more issued while it is down, through one createFetch. Returns every outcome by path.
 */
async function restartUnderFetch(lab: Lab, proxy: string, active: () => Promise<number>, restart: () => Promise<void>, tag: string) {
  const f = createFetch({ proxy, kerberos: true, env: {}, ca: lab.ca, connectTimeout: 5000 });
  const gets = new Map<string, Promise<Outcome>>();
  const posts = new Map<string, Promise<Outcome>>();
  const origin = (i: number): string => (i % 2 ? lab.origins.https.url : lab.origins.http.url);
  try {
    // Warm: connections exist (and are authenticated) before the fault, as in a running program.
    for (let i = 0; i < 4; i++) assert.equal(await settle(f(`${origin(i)}/warm-${tag}-${i}`)), 200);
    for (let i = 0; i < 6; i++) {
      const path = `/delay/3000`;
      gets.set(`${path}?g-${tag}-${i}`, settle(f(`${origin(i)}${path}?g-${tag}-${i}`)));
    }
    for (let i = 0; i < 4; i++) {
      const path = `/delay/3000`;
      posts.set(`${path}?p-${tag}-${i}`, settle(f(`${origin(i)}${path}?p-${tag}-${i}`, { method: 'POST', body: `post ${i}` })));
    }
    await until(async () => (await active()) >= 10, 'the 10 requests are in flight at the proxy');
    const restarting = restart(); // the kill is sent before this returns
    let up = false;
    let upAt = Infinity;
    const started = new Map<string, number>();
    void restarting.then(() => ((up = true), (upAt = performance.now())), () => (up = true));
    // Requests issued while the proxy is down, until it is back.
    for (let n = 0; !up; n++) {
      started.set(`/outage-${tag}-${n}`, performance.now());
      gets.set(`/outage-${tag}-${n}`, settle(f(`${origin(n)}/outage-${tag}-${n}`)));
      if (n % 3 === 0) posts.set(`/outage-post-${tag}-${n}`, settle(f(`${origin(n)}/outage-post-${tag}-${n}`, { method: 'POST', body: `outage ${n}` })));
      await delay(30);
    }
    await restarting;
    const getOutcomes = new Map<string, Outcome>();
    for (const [k, p] of gets) getOutcomes.set(k, await p);
    const postOutcomes = new Map<string, Outcome>();
    for (const [k, p] of posts) postOutcomes.set(k, await p);
    // Outage requests begun longer than the retry span before the proxy was back: not promised.
    for (const [k, t] of started) if (upAt - t > RETRY_SPAN && getOutcomes.get(k) !== 200) getOutcomes.delete(k);
    return { getOutcomes, postOutcomes };
  } finally {
    await f.dispatcher.close();
  }
}

function checkOutcomes(lab: Lab, tag: string, r: { getOutcomes: Map<string, Outcome>; postOutcomes: Map<string, Outcome> }, retries: RetryEvent[], proxy: string): void {
  const failedGets = [...r.getOutcomes].filter(([, o]) => o !== 200);
  assert.deepEqual(failedGets.map(([k, o]) => `${k}: ${String(o)}`), [], 'no idempotent request failed');
  assert.ok(r.getOutcomes.size > 6, 'requests were issued during the outage');
  for (const [key, outcome] of r.postOutcomes) {
    // A POST either succeeded or failed typed; the origin never saw it twice.
    assert.ok(outcome === 200 || outcome instanceof JaatoProxyError, `${key}: untyped ${String(outcome)}`);
    const path = key.startsWith('/delay') ? '/delay/3000' : key;
    if (path === key) assert.ok(seen(lab, key) <= 1, `${key} reached the origin ${seen(lab, key)} times`);
  }
  // The POSTs in flight share a path: each query is counted on its own.
  for (const key of r.postOutcomes.keys()) {
    if (!key.startsWith('/delay')) continue;
    const n = [...lab.origins.http.seen, ...lab.origins.https.seen].filter((s) => s.url === key).length;
    assert.ok(n <= 1, `${key} reached the origin ${n} times`);
  }
  const cutPosts = [...r.postOutcomes].filter(([k, o]) => k.startsWith('/delay') && o !== 200);
  assert.ok(cutPosts.length > 0, 'the kill cut POSTs in flight (else this proves nothing about them)');
  assert.ok(retries.length > 0, 'retries were published');
  const redacted = new URL(proxy);
  for (const e of retries) {
    assert.deepEqual(Object.keys(e).sort(), ['attempt', 'delay', 'method', 'proxy', 'reason']);
    assert.ok(e.attempt >= 2 && ['refused', 'closed', 'tunnel-closed'].includes(e.reason), JSON.stringify(e));
    assert.ok(e.proxy.includes(redacted.host), e.proxy);
  }
  // Squid's restart takes long enough for connections to be refused; Apache's may be over before one is.
  if (tag === 'squid') assert.ok(retries.some((e) => e.reason === 'refused'), 'a refused connection was waited out');
  assert.ok(retries.some((e) => e.reason !== 'refused'), 'a request cut in flight went again');
}

test('fetch through Squid, killed and restarted with GETs in flight and during the outage: no GET fails, no POST is sent twice', async () => {
  const lab = ctx.lab;
  const before = warnings.length;
  const { result, retries } = await retriesDuring((seen) => restartUnderFetch(lab, lab.proxies.negotiate, async () => (await lab.activeRequests()).squid, () => lab.restartSquid({ whileDown: () => refusalSeen(seen) }), 'squid'));
  checkOutcomes(lab, 'squid', result, retries, lab.proxies.negotiate);
  assert.deepEqual(warnings.slice(before), [], 'no process warning (many tunnels set up at once)');
});

test('fetch through the per-request Apache, killed and restarted: the same', async () => {
  const lab = ctx.lab;
  const { result, retries } = await retriesDuring(() => restartUnderFetch(lab, lab.proxies.perRequest, async () => (await lab.activeRequests()).apache, () => lab.restartApache(), 'apache'));
  checkOutcomes(lab, 'apache', result, retries, lab.proxies.perRequest);
});

test('a GET cut after it ran longer than the retry budget is still sent again (the budget runs from its first failure), on fetch and the node agents', async () => {
  // The soak's case: Apache closed a kept-alive connection under a GET that had queued for a connection
  // and its token for 3 s and more; the budget counted from its start refused the retry.
  const lab = ctx.lab;
  const f = createFetch({ proxy: lab.proxies.perRequest, kerberos: true, env: {}, ca: lab.ca });
  const agents = createAgents({ proxy: lab.proxies.perRequest, kerberos: true, env: {}, ca: lab.ca });
  const slow = `/delay/${RETRY_BUDGET + 1500}`;
  const viaAgent = (path: string): Promise<Outcome> =>
    new Promise((resolve) => {
      httpRequest(`${lab.origins.http.url}${path}`, { agent: agents.http }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', (e) => resolve(e));
      }).on('error', (e) => resolve(e)).end();
    });
  try {
    const { result, retries } = await retriesDuring(async () => {
      const began = performance.now();
      const outcomes = [settle(f(`${lab.origins.http.url}${slow}?long-fetch`)), viaAgent(`${slow}?long-agent`)];
      await until(async () => (await lab.activeRequests()).apache >= 2, 'both GETs in flight at Apache');
      // Both have run past the budget, no byte of their answers yet: now the proxy dies under them.
      await until(() => performance.now() - began > RETRY_BUDGET + 200, 'the GETs ran past the retry budget');
      await lab.restartApache();
      return Promise.all(outcomes);
    });
    assert.deepEqual(result.map((o) => (typeof o === 'number' ? o : String(o))), [200, 200], `both went again: ${JSON.stringify(retries)}`);
    assert.ok(retries.filter((e) => e.method === 'GET' && e.reason === 'closed').length >= 2, JSON.stringify(retries));
  } finally {
    await f.dispatcher.close();
    agents.http.destroy();
    agents.https.destroy();
  }
});

test('serve, its upstream Squid killed and restarted: forwarded GETs and CONNECTs during the outage all succeed; a cut POST is a 502, sent once', async () => {
  const lab = ctx.lab;
  // serve's access log: a 502's reason, printed if an outage request fails.
  const errors: string[] = [];
  const serve = await startLocalProxy({ port: 0, proxy: lab.proxies.negotiate, kerberos: true, env: {}, connectTimeout: 5000, log: (e) => void (e.reason && errors.push(`${e.method} ${e.host}: ${e.reason}`)) });
  const agent = new HttpAgent({ keepAlive: true });
  const tunnels = new ProxyAgent({ uri: serve.url, requestTls: { ca: lab.ca } });
  // CONNECTs issued during the outage on a client of their own: the warm tunnel, cut by the kill, is a
  // kept-alive connection the first client may still pick up (its own race, which serve cannot see).
  const outageTunnels = new ProxyAgent({ uri: serve.url, requestTls: { ca: lab.ca } });
  const forwarded = (path: string, method = 'GET'): Promise<number | string> =>
    new Promise((resolve) => {
      const req = httpRequest(`${lab.origins.http.url}${path}`, { agent, method, host: '127.0.0.1', port: serve.port, path: `${lab.origins.http.url}${path}` }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', (e) => resolve(`cut: ${e.message}`));
      });
      req.on('error', (e) => resolve(`error: ${e.message}`));
      req.end(method === 'POST' ? 'a post' : undefined);
    });
  const tunnelled = (path: string, dispatcher = tunnels): Promise<number | string> =>
    undiciRequest(`${lab.origins.https.url}${path}`, { dispatcher }).then(
      (r) => r.body.text().then(() => r.statusCode),
      (e: Error) => `error: ${e.message}`,
    );
  try {
    const { result, retries } = await retriesDuring(async (seen) => {
      assert.equal(await forwarded('/warm-serve'), 200);
      assert.equal(await tunnelled('/warm-serve-tls'), 200);
      const inFlight = [0, 1, 2, 3].map((i) => forwarded(`/delay/3000?sg-${i}`));
      const cutPost = forwarded('/delay/3000?sp-0', 'POST');
      // In flight at the origin (so through Squid): the POST has reached it before the kill.
      const atOrigin = (): number => lab.origins.http.seen.filter((s) => /^\/delay\/3000\?s[gp]-/.test(s.url)).length;
      await until(() => atOrigin() >= 5, 'the 5 requests reached the origin through Squid');
      const restarting = lab.restartSquid({ whileDown: () => refusalSeen(seen, 'CONNECT') });
      let up = false;
      let upAt = Infinity;
      void restarting.then(() => ((up = true), (upAt = performance.now())), () => (up = true));
      const during: Array<Promise<number | string>> = [];
      const startedAt: number[] = [];
      for (let n = 0; !up; n++) {
        const t = performance.now();
        startedAt.push(t, t);
        during.push(forwarded(`/serve-outage-${n}`), tunnelled(`/serve-outage-tls-${n}`, outageTunnels));
        await delay(30);
      }
      await restarting;
      // Requests begun longer than the retry span before Squid was back are not promised (RETRY_SPAN).
      const outcomes = await Promise.all(during);
      const promised = outcomes.filter((_, i) => upAt - (startedAt[i] ?? 0) <= RETRY_SPAN);
      return { inFlight: await Promise.all(inFlight), during: promised, cutPost: await cutPost };
    });
    assert.deepEqual(result.inFlight, [200, 200, 200, 200], 'forwarded GETs cut in flight were sent again');
    assert.ok(result.during.length >= 2);
    assert.deepEqual(result.during.filter((s) => s !== 200), [], `requests during the outage waited it out; serve said: ${JSON.stringify(errors)}; retries: ${JSON.stringify(retries)}`);
    assert.equal(result.cutPost, 502, 'the cut POST is answered 502 (nothing was sent to the client yet)');
    assert.equal(lab.origins.http.seen.filter((s) => s.url === '/delay/3000?sp-0').length, 1, 'the POST reached the origin once');
    assert.ok(retries.some((e) => e.method === 'CONNECT' && e.reason === 'refused'), `a CONNECT dial refused was retried: ${JSON.stringify(retries)}`);
    assert.ok(retries.some((e) => e.method === 'GET' && e.reason === 'closed'), 'a forwarded GET cut in flight was retried');
  } finally {
    agent.destroy();
    await tunnels.close();
    await outageTunnels.close();
    await serve.close();
  }
});

test('serve: a CONNECT whose proxy connection is reset as it was accepted (before the CONNECT went out) is dialled again, not a 502', async () => {
  // A proxy killed as it accepted (Squid restarting): the reset ends the dial ("connect ECONNRESET"), or
  // comes while the token is made. Either way nothing was sent: retried as a refusal or a tunnel closed
  // unanswered, where it was a 502 ("not-idempotent", or no connection failure at all).
  const lab = ctx.lab;
  const squidPort = Number(new URL(lab.proxies.negotiate).port);
  let accepted = 0;
  const relay = createServer((socket: Socket) => {
    socket.on('error', () => undefined);
    if (++accepted === 1) return void socket.resetAndDestroy();
    const upstream = connect(squidPort, '127.0.0.1').on('error', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const errors: string[] = [];
  const serve = await startLocalProxy({ port: 0, proxy: `http://localhost:${(relay.address() as AddressInfo).port}`, kerberos: true, env: {}, log: (e) => void (e.reason && errors.push(`${e.method} ${e.host}: ${e.reason}`)) });
  const tunnels = new ProxyAgent({ uri: serve.url, requestTls: { ca: lab.ca } });
  try {
    const { result, retries } = await retriesDuring(() =>
      undiciRequest(`${lab.origins.https.url}/reset-before-connect`, { dispatcher: tunnels }).then(
        (r) => r.body.text().then(() => r.statusCode),
        (e: Error) => `error: ${e.message}`,
      ),
    );
    assert.equal(result, 200, `serve said: ${JSON.stringify(errors)}`);
    assert.ok(accepted >= 2, 'the first connection was reset, a second one carried the CONNECT');
    assert.ok(retries.some((e) => e.method === 'CONNECT' && (e.reason === 'refused' || e.reason === 'tunnel-closed')), JSON.stringify(retries));
  } finally {
    await tunnels.close();
    await serve.close();
    await new Promise((resolve) => relay.close(resolve));
  }
});

test('serve: an upstream that dies after part of its answer was sent cuts the client (no 502 then, no hang, no retry)', async () => {
  const p = await scriptedProxy((_h, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart');
    setTimeout(() => socket.destroy(), 50);
  });
  const serve = await startLocalProxy({ port: 0, proxy: p.url, kerberos: false, env: {} });
  try {
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: serve.port, path: 'http://origin.test/cut' }, (res) => {
        res.resume();
        res.on('end', () => resolve(`ended ${res.statusCode}`));
        res.on('aborted', () => resolve(`cut after ${res.statusCode}`));
        res.on('error', () => resolve(`cut after ${res.statusCode}`));
      });
      req.on('error', (e) => resolve(`error: ${e.message}`));
      req.end();
    });
    assert.equal(outcome, 'cut after 200', 'the client sees its answer cut, not a complete one');
    assert.equal(p.heads.length, 1, 'an answer that began is not retried');
  } finally {
    await serve.close();
    await p.close();
  }
});
