// Throughput through the lab's real Squid: jaato-proxy's Negotiate path against undici's own
// ProxyAgent with a static Basic token (the named baseline), all measured in this run, rounds
// interleaved so machine noise hits every scenario alike. Prints medians and ratios.
//
//   npm run build && node bench/requests.mjs [requests=2000] [concurrency=8] [rounds=5]
import { subscribe } from 'node:diagnostics_channel';
import https from 'node:https';
import { Agent, ProxyAgent } from 'undici';
import { startLab } from '../dist/lab/lab.js';
import { createAgents, ProxyDispatcher } from '../dist/index.js';

const [N = 2000, C = 8, ROUNDS = 5] = process.argv.slice(2).map(Number);
let steps = 0;
subscribe('jaato-proxy:spnego-token', () => void steps++);

const lab = await startLab();
Object.assign(process.env, lab.env);
const url = `${lab.origins.https.url}/bench`;
const basicToken = `Basic ${Buffer.from(`${lab.basic.username}:${lab.basic.password}`).toString('base64')}`;
const basicProxy = lab.proxies.basic.replace('http://', `http://${lab.basic.username}:${lab.basic.password}@`);

async function viaFetch(dispatcher) {
  const res = await fetch(url, { dispatcher });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
}

function viaHttps(agent) {
  return new Promise((resolve, reject) => {
    https.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    }).on('error', reject);
  });
}

const scenarios = [
  { name: 'direct (undici Agent, no proxy)', make: () => new Agent({ connect: { ca: lab.ca } }), run: viaFetch },
  { name: 'undici ProxyAgent, static Basic (baseline)', baseline: true, make: () => new ProxyAgent({ uri: lab.proxies.basic, token: basicToken, requestTls: { ca: lab.ca } }), run: viaFetch },
  { name: 'jaato ProxyDispatcher, Basic', make: () => new ProxyDispatcher({ proxy: basicProxy, kerberos: false, env: {}, ca: lab.ca }), run: viaFetch },
  { name: 'jaato ProxyDispatcher, Negotiate', make: () => new ProxyDispatcher({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca }), run: viaFetch },
  { name: 'jaato node:https agent, Negotiate', make: () => createAgents({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca }).https, run: viaHttps, close: (a) => a.destroy() },
];

async function once(s) {
  const client = s.make();
  const before = steps;
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: C }, async () => {
    while (next++ < N) await s.run(client);
  }));
  const ms = performance.now() - started;
  await (s.close ? s.close(client) : client.close());
  return { rps: (N / ms) * 1000, steps: steps - before };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = new Map(scenarios.map((s) => [s, { rps: [], steps: [] }]));
try {
  for (const s of scenarios) await once(s); // warm-up: TLS, helpers, service tickets
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of scenarios) {
      const { rps, steps: st } = await once(s);
      results.get(s).rps.push(rps);
      results.get(s).steps.push(st);
    }
  }
  const base = median(results.get(scenarios.find((s) => s.baseline)).rps);
  console.log(`${N} GET requests over HTTPS, concurrency ${C}, ${ROUNDS} rounds; median requests/s (node ${process.version})\n`);
  console.log('| scenario | req/s (median) | vs baseline | GSSAPI steps per run |');
  console.log('|---|---:|---:|---:|');
  for (const s of scenarios) {
    const r = results.get(s);
    console.log(`| ${s.name} | ${median(r.rps).toFixed(0)} | ${(median(r.rps) / base).toFixed(2)}x | ${median(r.steps)} |`);
  }

  // The issue's question: how many GSSAPI steps for 100 requests over one kept-alive connection?
  for (const target of [lab.origins.https.url, lab.origins.http.url]) {
    const d = new ProxyDispatcher({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca, connections: 1 });
    const before = steps;
    for (let i = 0; i < 100; i++) await (await fetch(`${target}/ka`, { dispatcher: d })).arrayBuffer();
    await d.close();
    console.log(`\n100 sequential requests to ${target.split(':')[0]}: over one kept-alive proxy connection: ${steps - before} GSSAPI step(s)`);
  }
} finally {
  await lab.stop();
}
