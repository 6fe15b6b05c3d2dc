// The soak with faults (`npm run bench:soak -- --faults [requests=20000] [concurrency=32]`, issue 25):
// two clients run at once, each from one object for the whole run: createFetch through the Kerberos
// Squid (connection-authenticating) and node:http(s) with createAgents through Apache (a token per
// request), every fifth request forwarded http, the rest tunnelled https. A schedule of faults hits
// them: both proxies killed and restarted, the KDC down with a TGT-only ticket cache and then with no
// cache at all (a restart during each outage forces new connections, which need the KDC), and a third
// client switched to a proxy that accepts and never answers. Per fault it prints the requests in
// flight, the failures by type until the next fault (UNTYPED when not a JaatoProxyError), the time to
// the first success of a request started after the fault, and this process's FDs and RSS (the lab's
// echo origins live here too). Every address is on loopback.
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { fds, rssMb } from './stats.mjs';
import { startLab } from '../.test-build/lab/lab.js';
import { createAgents, createFetch, JaatoProxyError, unwrapError } from '../dist/index.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A failure's type: the error class and code, UNTYPED when the library let an error through untyped. */
function kind(error) {
  const e = unwrapError(error);
  const typed = e instanceof JaatoProxyError;
  const cause = e?.cause?.code ?? e?.cause?.name;
  // A non-200 answer is the proxy's or the origin's word, not an error of ours: named by its status.
  if (!typed && /^status \d+/.test(e?.message ?? '')) return `answer ${e.message}`;
  return `${typed ? '' : 'UNTYPED '}${e?.name ?? 'Error'} ${e?.code ?? ''}${cause ? ` ← ${cause}` : ''}`.trim();
}

export async function soakWithFaults([N = 20_000, C = 32] = []) {
  const lab = await startLab();
  Object.assign(process.env, lab.env);
  const clients = {
    'fetch → Squid': (() => {
      const f = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca });
      return {
        request: (scheme, i) => f(`${lab.origins[scheme].url}/soak-f/${i}`).then(async (r) => {
          await r.arrayBuffer();
          if (r.status !== 200) throw new Error(`status ${r.status}`);
        }),
        close: () => f.dispatcher.close(),
      };
    })(),
    'node agents → Apache': (() => {
      const agents = createAgents({ proxy: lab.proxies.perRequest, kerberos: true, env: {}, ca: lab.ca });
      return {
        request: (scheme, i) => new Promise((resolve, reject) => {
          const get = scheme === 'https' ? httpsGet : httpGet;
          get(`${lab.origins[scheme].url}/soak-n/${i}`, { agent: scheme === 'https' ? agents.https : agents.http, ca: lab.ca }, (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
            res.on('error', reject);
          }).on('error', reject);
        }),
        close: () => {
          agents.http.destroy();
          agents.https.destroy();
        },
      };
    })(),
  };
  const names = Object.keys(clients);
  const newPhase = (name) => ({ name, at: performance.now(), inFlight: {}, failures: {}, firstOk: {}, fds: fds(), rss: rssMb() });
  const phases = [newPhase('warm-up (no fault)')];
  const inFlight = Object.fromEntries(names.map((n) => [n, 0]));
  let issued = 0;
  let done = false;

  const fault = async (name, act) => {
    const p = newPhase(name);
    p.inFlight = { ...inFlight };
    phases.push(p);
    const t = performance.now();
    await act();
    p.took = performance.now() - t;
  };
  const loop = async (name) => {
    for (;;) {
      if (done) return;
      const i = issued++;
      const started = performance.now();
      inFlight[name]++;
      try {
        await clients[name].request(i % 5 === 0 ? 'http' : 'https', i);
        const phase = phases.at(-1);
        if (started >= phase.at && phase.firstOk[name] === undefined) phase.firstOk[name] = performance.now() - phase.at;
      } catch (error) {
        // Counted against the fault in force when it failed: a request cut in flight is that fault's.
        const phase = phases.at(-1);
        const key = kind(error);
        const f = (phase.failures[name] ??= {});
        f[key] = (f[key] ?? 0) + 1;
      } finally {
        inFlight[name]--;
      }
    }
  };
  // A share of the run's requests after the fault before, so each recovery has load to show on, even
  // when the outages (their lengths are times) let the count run past a fixed fraction.
  const after = async (share) => {
    const from = issued;
    while (issued - from < N * share) await sleep(10);
  };
  const restartProxies = () => Promise.all([lab.restartSquid(), lab.restartApache()]);

  const loops = names.flatMap((name) => Array.from({ length: Math.max(1, Math.floor(C / names.length)) }, () => loop(name)));
  let stall;
  try {
    await after(0.1);
    await fault('Squid and Apache killed and restarted (KDC up, ticket cache full)', restartProxies);
    await after(0.2);
    await fault('KDC down, the ticket cache holding a TGT only', async () => {
      await lab.kdestroy();
      await lab.kinit();
      await lab.stopKdc();
    });
    await sleep(2000);
    await fault('proxies restarted while the KDC is down', restartProxies);
    await sleep(2000);
    await fault('KDC up again', () => lab.startKdc());
    await after(0.2);
    await fault('KDC down and no ticket cache (kdestroy)', async () => {
      await lab.stopKdc();
      await lab.kdestroy();
    });
    await sleep(2000);
    await fault('proxies restarted, KDC down, no ticket cache', restartProxies);
    await sleep(2000);
    await fault('KDC up again + kinit', async () => {
      await lab.startKdc();
      await lab.kinit();
    });
    await after(0.2);
    // A third client, its proxy switched to one that accepts and never answers; the two above go on.
    const silent = createServer(() => undefined);
    await new Promise((r) => silent.listen(0, '127.0.0.1', r));
    const env = { HTTPS_PROXY: `http://127.0.0.1:${silent.address().port}`, HTTP_PROXY: `http://127.0.0.1:${silent.address().port}` };
    const third = createFetch({ env, ca: lab.ca, connectTimeout: 3000, headersTimeout: 5000 });
    await fault('a third client on a stalled proxy (8 https + 8 http; connectTimeout 3 s, headersTimeout 5 s)', async () => {
      const t = performance.now();
      const outcomes = await Promise.all(Array.from({ length: 16 }, (_, i) => third(`${lab.origins[i % 2 ? 'http' : 'https'].url}/stalled/${i}`).then(() => 'ok', (e) => `${kind(e)}`).then((o) => [o, performance.now() - t])));
      stall = outcomes;
    });
    await third.dispatcher.close();
    silent.close();
    await after(0.1);
  } finally {
    done = true;
    await Promise.all(loops);
    await Promise.all(Object.values(clients).map((c) => c.close()));
    await lab.startKdc().catch(() => undefined);
    await lab.stop();
  }

  console.log(`\nSoak with faults: ${issued} requests over ${names.join(' and ')}, concurrency ${C} (${Math.max(1, Math.floor(C / names.length))} each), every fifth forwarded http, the rest tunnelled https; Node ${process.version}\n`);
  console.log('| # | fault | took | in flight | failures until the next fault, by type | first success of a request started after it | FDs / RSS at the fault |');
  console.log('|---|---|---:|---|---|---|---|');
  phases.forEach((p, i) => {
    const per = (o, f) => names.map((n) => `${n}: ${f(o[n])}`).join('<br>');
    const failures = per(p.failures, (f) => (f ? Object.entries(f).map(([k, v]) => `${v}× ${k}`).join(', ') : '0'));
    const inflight = i === 0 ? '-' : per(p.inFlight, (v) => v);
    const first = per(p.firstOk, (v) => (v === undefined ? 'none' : `${v.toFixed(0)} ms`));
    console.log(`| ${i} | ${p.name} | ${p.took === undefined ? '-' : `${p.took.toFixed(0)} ms`} | ${inflight} | ${failures} | ${first} | ${p.fds} / ${p.rss.toFixed(0)} MB |`);
  });
  if (stall) {
    const by = new Map();
    for (const [o, ms] of stall) by.set(o, [...(by.get(o) ?? []), ms]);
    console.log(`\nThe stalled third client: ${[...by].map(([o, t]) => `${t.length}× ${o} after ${Math.min(...t).toFixed(0)}-${Math.max(...t).toFixed(0)} ms`).join('; ')}`);
  }
  console.log(`End: FDs ${fds()}, RSS ${rssMb().toFixed(0)} MB (clients closed, lab stopped).`);
}
