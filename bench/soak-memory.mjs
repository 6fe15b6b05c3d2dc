// The long soak without faults (issue 25): one client in a process of its own (so the lab's origins and
// proxies, which live elsewhere, are not counted in its memory), N requests at concurrency C through the
// lab, every fifth forwarded http, the rest tunnelled https. It prints failures by type, and RSS, the JS
// heap after a full collection and off-heap buffers at twenty points, so a reader sees whether memory
// levels off after the warm-up or keeps growing.
//
//   npm run bench:soak -- --memory [requests=100000] [concurrency=64] [client=all|fetch-squid|fetch-apache|agents-apache]
//
// The parent starts the lab; each client runs in `node --expose-gc bench/soak-memory.mjs --child`.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const POINTS = 20;
const WARM = 5000;

const CLIENTS = {
  'fetch-squid': { name: 'createFetch → Kerberos Squid (a token per connection)', proxy: 'negotiate' },
  'fetch-apache': { name: 'createFetch → Apache (a token per request)', proxy: 'perRequest' },
  'agents-apache': { name: 'node:http(s) with createAgents → Apache (a token per request)', proxy: 'perRequest' },
};

export async function soakMemory([n = 100_000, c = 64, which = 'all'] = []) {
  const { startLab } = await import('../.test-build/lab/lab.js');
  const lab = await startLab();
  const rows = [];
  try {
    for (const key of which === 'all' ? Object.keys(CLIENTS) : [which]) {
      if (!CLIENTS[key]) throw new Error(`soak-memory: unknown client "${key}" (one of ${Object.keys(CLIENTS).join(', ')}, all)`);
      const spec = {
        client: key,
        n: Number(n),
        c: Number(c),
        proxy: lab.proxies[CLIENTS[key].proxy],
        origins: { http: lab.origins.http.url, https: lab.origins.https.url },
        ca: lab.ca,
      };
      const child = spawn(process.execPath, ['--expose-gc', SELF, '--child'], {
        env: { ...process.env, ...lab.env, JAATO_SOAK_SPEC: JSON.stringify(spec) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const code = await new Promise((resolve) => child.once('exit', resolve));
      if (code !== 0) throw new Error(`soak-memory: the ${key} client exited with ${code}`);
      rows.push({ key, ...JSON.parse(out.trim().split('\n').at(-1)) });
      for (const o of Object.values(lab.origins)) o.seen.length = 0;
    }
  } finally {
    await lab.stop();
  }

  console.log(`\nSoak without faults, each client in its own process: concurrency ${c}, every fifth request forwarded http, the rest tunnelled https; Node ${process.version}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`);
  console.log('| client | requests | req/s | failures | RSS at 1/20 → end (MB) | growth: first half / second half | JS heap after GC, 1/20 → end (MB) | FDs 1/20 → end |');
  console.log('|---|---:|---:|---|---|---|---|---|');
  for (const r of rows) {
    const s = r.samples;
    // The reference is the first twentieth, not the point right after the warm-up: memory the warm-up
    // freed is handed back to the OS lazily, which would flatter the growth.
    const first = s[1];
    const mid = s[Math.floor((s.length - 1) / 2)];
    const last = s.at(-1);
    const failures = Object.entries(r.failures).map(([k, v]) => `${v}× ${k}`).join(', ') || '0';
    console.log(`| ${CLIENTS[r.key].name} | ${r.n} | ${r.rps} | ${failures} | ${first.rss.toFixed(1)} → ${last.rss.toFixed(1)} (${signed(last.rss - first.rss)}) | ${signed(mid.rss - first.rss)} / ${signed(last.rss - mid.rss)} | ${first.heap.toFixed(1)} → ${last.heap.toFixed(1)} | ${first.fds} → ${last.fds} |`);
  }
  for (const r of rows) for (const [k, m] of Object.entries(r.examples ?? {})) console.log(`${r.key}, first ${k}: ${m}`);
  console.log('\nRSS (MB) after the warm-up, then at each twentieth of the run, after a full collection:');
  for (const r of rows) console.log(`${r.key}: ${r.samples.map((s) => s.rss.toFixed(1)).join(' ')}`);
}

const signed = (x) => `${x < 0 ? '−' : '+'}${Math.abs(x).toFixed(1)}`;

async function runChild() {
  const spec = JSON.parse(process.env.JAATO_SOAK_SPEC);
  const { createAgents, createFetch, JaatoProxyError, unwrapError } = await import('../dist/index.js');
  const { readdirSync } = await import('node:fs');
  const kind = (error) => {
    const e = unwrapError(error);
    return `${e instanceof JaatoProxyError ? '' : 'UNTYPED '}${e?.name ?? 'Error'} ${e?.code ?? ''}`.trim() + (e?.message?.startsWith('status') ? ` (${e.message})` : '');
  };
  let request;
  let close;
  if (spec.client.startsWith('fetch')) {
    const f = createFetch({ proxy: spec.proxy, kerberos: true, env: {}, ca: spec.ca });
    request = (scheme, i) => f(`${spec.origins[scheme]}/soak-m/${i}`).then(async (r) => {
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`status ${r.status}`);
    });
    close = () => f.dispatcher.close();
  } else {
    const agents = createAgents({ proxy: spec.proxy, kerberos: true, env: {}, ca: spec.ca });
    request = (scheme, i) => new Promise((resolve, reject) => {
      const get = scheme === 'https' ? httpsGet : httpGet;
      get(`${spec.origins[scheme]}/soak-m/${i}`, { agent: scheme === 'https' ? agents.https : agents.http, ca: spec.ca }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        res.on('error', reject);
      }).on('error', reject);
    });
    close = () => {
      agents.http.destroy();
      agents.https.destroy();
    };
  }
  const sample = (i) => {
    global.gc();
    const m = process.memoryUsage();
    return { i, rss: m.rss / 1048576, heap: m.heapUsed / 1048576, external: m.external / 1048576, fds: readdirSync('/proc/self/fd').length };
  };
  const failures = {};
  const examples = {};
  let next = 0;
  let done = 0;
  const drive = (until) => Promise.all(Array.from({ length: spec.c }, async () => {
    while (next < until) {
      const i = next++;
      try {
        await request(i % 5 === 0 ? 'http' : 'https', i);
      } catch (error) {
        const k = kind(error);
        failures[k] = (failures[k] ?? 0) + 1;
        // The first message of each kind (the library's messages name origins, never paths or headers).
        examples[k] ??= String(unwrapError(error)?.message ?? error).slice(0, 300);
      }
      done++;
    }
  }));
  await drive(WARM);
  const samples = [sample(0)];
  const t = performance.now();
  for (let p = 1; p <= POINTS; p++) {
    await drive(WARM + Math.round((spec.n * p) / POINTS));
    samples.push(sample(done - WARM));
  }
  const rps = Math.round((spec.n / (performance.now() - t)) * 1000);
  await close();
  process.stdout.write(`${JSON.stringify({ n: spec.n, rps, failures, examples, samples })}\n`);
}

if (process.argv.includes('--child')) await runChild();
