// Soak: many requests through the lab's real Kerberos Squid, then through `jaato-proxy serve`, with
// what a leak or a fault would show: failures, open descriptors and RSS before and after, GSSAPI steps.
// Bounded in count and time; every address is on loopback.
//
//   npm run build && node --expose-gc bench/soak.mjs [fetchRequests=100000] [serveRequests=50000] [concurrency=64]
// (--expose-gc: the heap is measured after a full collection, so growth means retained memory)
//   npm run bench:soak -- --faults [requests=20000] [concurrency=32]: the soak with faults (soak-faults.mjs)
//   npm run bench:soak -- --memory [requests=100000] [concurrency=64] [client]: each client in its own
//     process, memory at twenty points and failures without faults (soak-memory.mjs)
import { spawn } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { fds, rssMb } from './stats.mjs';
import { fileURLToPath } from 'node:url';
import { Agent, ProxyAgent } from 'undici';
import { startLab } from '../.test-build/lab/lab.js';
import { createFetch } from '../dist/index.js';

if (process.argv.includes('--memory')) {
  const { soakMemory } = await import('./soak-memory.mjs');
  await soakMemory(process.argv.slice(2).filter((a) => a !== '--memory'));
  process.exit(0);
}
if (process.argv.includes('--faults')) {
  const { soakWithFaults } = await import('./soak-faults.mjs');
  await soakWithFaults(process.argv.slice(2).filter((a) => a !== '--faults').map(Number));
  process.exit(0);
}

const [FETCH_N = 100_000, SERVE_N = 50_000, C = 64] = process.argv.slice(2).map(Number);
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
let steps = 0;
subscribe('jaato-proxy:spnego-token', () => void steps++);

const heapMb = () => {
  // The lab's origins live in this process and record every request they see: not the client's memory.
  for (const o of Object.values(lab.origins)) o.seen.length = 0;
  global.gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

/** Runs `n` requests at concurrency C; every fifth one goes to the http origin (forwarded), the rest tunnel. */
async function drive(n, request) {
  let next = 0;
  const failures = new Map();
  const started = performance.now();
  await Promise.all(Array.from({ length: C }, async () => {
    while (next < n) {
      const i = next++;
      try {
        await request(i % 5 === 0 ? 'http' : 'https', i);
      } catch (error) {
        const key = error?.cause?.code ?? error?.code ?? error?.message ?? String(error);
        failures.set(key, (failures.get(key) ?? 0) + 1);
      }
    }
  }));
  return { ms: performance.now() - started, failures };
}

const lab = await startLab();
Object.assign(process.env, lab.env);
const rows = [];
try {
  // 1. createFetch straight to the Negotiate Squid.
  {
    const f = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca });
    const warm = await drive(2000, (kind, i) => get(f, kind, i));
    const before = { fds: fds(), rss: rssMb(), heap: heapMb(), steps };
    const run = await drive(FETCH_N, (kind, i) => get(f, kind, i));
    await f.dispatcher.close();
    global.gc?.();
    await new Promise((r) => setTimeout(r, 500));
    rows.push(row('createFetch → Kerberos Squid', FETCH_N, run, before, { fds: fds(), rss: rssMb(), heap: heapMb(), steps }, warm));
  }
  // 2. An undici client (no Kerberos of its own) through `serve`, which authenticates upstream.
  {
    const env = { PATH: process.env.PATH, ...lab.env, HTTPS_PROXY: lab.proxies.negotiate, HTTP_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true' };
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--quiet'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const local = await new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
      child.stdout.on('data', (d) => {
        const m = /listening on (http:\/\/\S+)/.exec(String(d));
        if (m) resolve(m[1]);
      });
    });
    const tunnel = new ProxyAgent({ uri: local, requestTls: { ca: lab.ca } });
    const forward = new ProxyAgent({ uri: local, proxyTunnel: false });
    const request = async (kind, i) => {
      const res = await fetch(`${lab.origins[kind].url}/soak-serve/${i}`, { dispatcher: kind === 'https' ? tunnel : forward });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
    };
    const warm = await drive(2000, request);
    const before = { fds: fds(child.pid), rss: rssMb(child.pid), steps: NaN };
    const run = await drive(SERVE_N, request);
    await Promise.all([tunnel.close(), forward.close()]);
    await new Promise((r) => setTimeout(r, 1000));
    const after = { fds: fds(child.pid), rss: rssMb(child.pid), steps: NaN }; // serve's steps happen in its own process
    child.kill('SIGTERM');
    rows.push(row('undici ProxyAgent → serve → Kerberos Squid', SERVE_N, run, before, after, warm));
  }
} finally {
  await lab.stop();
}

function get(f, kind, i) {
  return f(`${lab.origins[kind].url}/soak/${i}`).then(async (res) => {
    const body = await res.arrayBuffer();
    // What failed and why (serve's 502 says it in its body), so a rare failure is diagnosable from the table.
    if (res.status !== 200) throw new Error(`status ${res.status} (${kind}): ${Buffer.from(body).toString('utf8', 0, 200).trim()}`);
  });
}

function row(name, n, run, before, after, warm) {
  const failures = [...run.failures].map(([k, v]) => `${v}× ${k}`).join(', ') || '0';
  return { name, n, rps: Math.round((n / run.ms) * 1000), failures, warmFailures: warm.failures.size, fds: `${before.fds} → ${after.fds}`, rss: `${before.rss.toFixed(0)} → ${after.rss.toFixed(0)} MB`, heap: before.heap === undefined ? 'in serve' : `${before.heap.toFixed(1)} → ${after.heap.toFixed(1)} MB`, steps: Number.isNaN(after.steps) ? 'in serve' : after.steps - before.steps };
}

console.log(`\nSoak at concurrency ${C} (every fifth request forwarded http, the rest tunnelled https); Node ${process.version}\n`);
console.log('| path | requests | req/s | failures | descriptors (connections open → closed) | RSS (same points) | JS heap after GC | GSSAPI steps |');
console.log('|---|---:|---:|---|---|---|---|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.n} | ${r.rps} | ${r.failures} | ${r.fds} | ${r.rss} | ${r.heap} | ${r.steps} |`);
