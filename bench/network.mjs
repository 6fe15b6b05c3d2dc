// Rows 1-3, through the lab's real Squid: fetch with Kerberos against undici's ProxyAgent with a
// static Basic token; `serve` against a second Squid forwarding to the Kerberos Squid with
// `cache_peer ... login=NEGOTIATE` (Squid's own answer to the same problem); serve's added latency.
import { subscribe } from 'node:diagnostics_channel';
import { ProxyAgent, request } from 'undici';
import { startSquidForwarder } from '../.test-build/lab/squid-forwarder.js';
import { startLocalProxy } from '../dist/server/local-proxy.js';
import { startServeProcess } from './serve-process.mjs';
import { createFetch } from '../dist/index.js';
import { interleave, median, ratioCell, ratios, spread } from './stats.mjs';

let steps = 0;
subscribe('jaato-proxy:spnego-token', () => void steps++);

/** Runs `count` calls of `one`, `concurrency` at a time; requests per second. */
async function throughput(count, concurrency, one) {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < count) await one();
  }));
  return (count / (performance.now() - started)) * 1000;
}

async function viaFetch(f, url) {
  const res = await f(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url}: status ${res.status}`);
}

async function viaRequest(dispatcher, url) {
  const res = await request(url, { dispatcher });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`${url}: status ${res.statusCode}`);
}

/** Milliseconds per sequential request over one kept-alive connection (one tunnel for https). */
async function latencies(dispatcher, url, count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await viaRequest(dispatcher, url);
    out.push(performance.now() - t);
  }
  return out;
}

export async function networkRows(lab, { rounds, requests, concurrency, only }) {
  const rows = [];
  const https = `${lab.origins.https.url}/bench`;
  const http = `${lab.origins.http.url}/bench`;
  const basicToken = `Basic ${Buffer.from(`${lab.basic.username}:${lab.basic.password}`).toString('base64')}`;
  const squidBasic = () => new ProxyAgent({ uri: lab.proxies.basic, token: basicToken, requestTls: { ca: lab.ca } });

  if (only(1)) {
    const scenarios = [
      { name: 'baseline', make: () => { const d = squidBasic(); return { f: (u) => fetch(u, { dispatcher: d }), close: () => d.close() }; } },
      { name: 'negotiate', make: () => { const f = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca }); return { f, close: () => f.dispatcher.close() }; } },
      { name: 'basic', make: () => { const f = createFetch({ proxy: `http://${lab.basic.username}:${lab.basic.password}@${lab.proxies.basic.slice(7)}`, kerberos: false, env: {}, ca: lab.ca }); return { f, close: () => f.dispatcher.close() }; } },
    ];
    const res = await interleave(rounds, scenarios, async (s) => {
      const client = s.make();
      const before = steps;
      const rps = await throughput(requests, concurrency, () => viaFetch(client.f, https));
      await client.close();
      return { rps, steps: steps - before };
    });
    const rps = (name) => res.get(scenarios.find((s) => s.name === name)).map((r) => r.rps);
    const base = rps('baseline');
    const negSteps = res.get(scenarios[1]).map((r) => r.steps);
    for (const [name, label, goal] of [['negotiate', 'Kerberos (Negotiate)', true], ['basic', 'Basic (for comparison)', false]]) {
      const r = ratios(rps(name), base);
      rows.push({
        id: 1,
        measure: `fetch (\`createFetch\`) through Squid, ${label}, ${requests} https GETs, concurrency ${concurrency}, keep-alive` + (goal ? `; GSSAPI steps per run ${median(negSteps)} (${spread(negSteps).join('-')})` : ''),
        baselineName: 'undici `ProxyAgent`, static Basic token, same Squid',
        candidate: `${median(rps(name)).toFixed(0)} req/s`,
        baseline: `${median(base).toFixed(0)} req/s`,
        result: ratioCell(r),
        goal: goal ? '>= 1.0x' : '-',
        met: goal ? median(r) >= 1 : undefined,
      });
    }
    // One GSSAPI step per new proxy connection, none per request: 100 requests on one connection.
    const counted = [];
    for (const target of [https, http]) {
      const f = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca, connections: 1 });
      const before = steps;
      for (let i = 0; i < 100; i++) await viaFetch(f, target);
      await f.dispatcher.close();
      counted.push(steps - before);
    }
    rows.push({
      id: 1,
      measure: 'GSSAPI steps for 100 sequential requests over one kept-alive proxy connection, https (tunnel) / http (forwarded)',
      baselineName: '-',
      candidate: counted.join(' / '),
      baseline: '-',
      result: counted.join(' / '),
      goal: '1 / 1',
      met: counted.every((c) => c === 1),
    });
  }

  if (only(2) || only(3)) {
    const keytab = await lab.clientKeytab();
    const forwarder = await startSquidForwarder({
      dir: lab.dir,
      name: `fwd${lab.dir.replace(/[^A-Za-z0-9]/g, '').slice(-10)}`,
      peerHost: 'localhost', // the name in the Kerberos Squid's keytab: HTTP@localhost
      peerPort: Number(new URL(lab.proxies.negotiate).port),
      clientKeytab: keytab,
      krb5Conf: lab.env.KRB5_CONFIG,
    });
    // serve in a process of its own, as the CLI runs it and as the forwarder runs (in Squid's); and,
    // for comparison, in this process, where its relaying shares one thread with the client and origin.
    const serve = await startServeProcess(lab.proxies.negotiate);
    const inProcess = await startLocalProxy({ port: 0, proxy: lab.proxies.negotiate, kerberos: true, env: {} });
    try {
      const through = { serve: serve.url, forwarder: forwarder.url, inProcess: inProcess.url };
      if (only(2)) {
        // One client per relay for the whole row, warmed up by interleave's first pass (its tunnels or
        // kept-alive connections open, the relay's upstream connections and GSSAPI steps made), so the
        // rounds time relaying alike for both, not each round's connection set-up.
        for (const c of new Set([concurrency, 64])) {
          for (const [target, count, tunnel] of [[https, requests, true], [http, Math.round(requests / 2), false]]) {
            const scenarios = tunnel ? ['forwarder', 'serve', 'inProcess'] : ['forwarder', 'serve'];
            const clients = new Map(scenarios.map((s) => [s, new ProxyAgent({ uri: through[s], requestTls: { ca: lab.ca }, proxyTunnel: tunnel })]));
            let res;
            try {
              res = await interleave(rounds, scenarios, (s) => throughput(count, c, () => viaRequest(clients.get(s), target)));
            } finally {
              await Promise.all([...clients.values()].map((d) => d.close()));
            }
            const r = ratios(res.get('serve'), res.get('forwarder'));
            rows.push({
              id: 2,
              measure: `\`serve\` (own process) req/s, undici client, ${count} ${tunnel ? 'https GETs (tunnels)' : 'forwarded http GETs'}, concurrency ${c}`,
              baselineName: 'Squid forwarding to the Kerberos Squid, `cache_peer ... login=NEGOTIATE`',
              candidate: `${median(res.get('serve')).toFixed(0)} req/s`,
              baseline: `${median(res.get('forwarder')).toFixed(0)} req/s`,
              result: ratioCell(r),
              goal: '>= 1.1x',
              met: median(r) >= 1.1,
            });
            if (tunnel) {
              rows.push({
                id: 2,
                measure: `\`serve\` in the bench's own process (for comparison: one thread for client, origin and relay), ${count} https GETs (tunnels), concurrency ${c}`,
                baselineName: 'Squid forwarding to the Kerberos Squid, `cache_peer ... login=NEGOTIATE`',
                candidate: `${median(res.get('inProcess')).toFixed(0)} req/s`,
                baseline: `${median(res.get('forwarder')).toFixed(0)} req/s`,
                result: ratioCell(ratios(res.get('inProcess'), res.get('forwarder'))),
                goal: '-',
              });
            }
          }
        }
      }
      if (only(3)) {
        const count = Math.max(50, Math.round(requests / 8));
        // Latency is measured as before, serve in this process; its own process is a comparison line.
        const scenarios = ['squid', 'inProcess', 'serve', 'forwarder'];
        const res = await interleave(rounds, scenarios, async (s) => {
          const d = s === 'squid' ? new ProxyAgent({ uri: lab.proxies.basic, token: basicToken, requestTls: { ca: lab.ca }, connections: 1 }) : new ProxyAgent({ uri: through[s], requestTls: { ca: lab.ca }, connections: 1 });
          await viaRequest(d, https); // the tunnel is opened outside the timing
          const ms = median(await latencies(d, https, count));
          await d.close();
          return ms;
        });
        const squid = res.get('squid');
        for (const s of ['inProcess', 'serve', 'forwarder']) {
          const added = res.get(s).map((ms, i) => ms - squid[i]);
          const [lo, hi] = spread(added);
          rows.push({
            id: 3,
            measure: `${{ inProcess: "`serve` (in the bench's process)", serve: '`serve` in its own process (for comparison)', forwarder: 'the Squid forwarder (for comparison)' }[s]} added latency, p50 of ${count} sequential https GETs on one tunnel`,
            baselineName: 'the same client straight to the Squid (Basic port)',
            candidate: `${median(res.get(s)).toFixed(3)} ms`,
            baseline: `${median(squid).toFixed(3)} ms`,
            result: `${median(added) >= 0 ? '+' : ''}${median(added).toFixed(3)} ms (${lo.toFixed(3)} to ${hi.toFixed(3)})`,
            goal: s === 'inProcess' ? '<= +0.3 ms' : '-',
            met: s === 'inProcess' ? median(added) <= 0.3 : undefined,
          });
        }
      }
    } finally {
      await serve.stop();
      await inProcess.close();
      await forwarder.stop();
    }
  }
  return rows;
}
