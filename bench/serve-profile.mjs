// Row 2 alone, for serve's CPU: `serve` in its own process (optionally under --cpu-prof), then the
// Squid forwarder, each relaying the same GETs from an undici client (https through tunnels, or
// forwarded http with --http), with each relay's CPU time per request (serve: process.cpuUsage; Squid:
// /proc/<pid>/stat).
//
//   node bench/serve-profile.mjs [requests=20000] [profile-dir] [--http] [--concurrency 8]
//   node bench/profile.mjs --summary <profile-dir>/<file>.cpuprofile <requests>
import { parseArgs } from 'node:util';
import { ProxyAgent, request } from 'undici';
import { startServeProcess, procCpu } from './serve-process.mjs';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { http: { type: 'boolean', default: false }, concurrency: { type: 'string', default: '8' } } });
const [n = '20000', profDir] = positionals;
const requests = Number(n);
const concurrency = Number(values.concurrency);
const { startLab } = await import('../.test-build/lab/lab.js');
const { startSquidForwarder } = await import('../.test-build/lab/squid-forwarder.js');
const lab = await startLab();
Object.assign(process.env, lab.env);
const forwarder = await startSquidForwarder({
  dir: lab.dir,
  name: `fwd${lab.dir.replace(/[^A-Za-z0-9]/g, '').slice(-10)}`,
  peerHost: 'localhost',
  peerPort: Number(new URL(lab.proxies.negotiate).port),
  clientKeytab: await lab.clientKeytab(),
  krb5Conf: lab.env.KRB5_CONFIG,
});
const serve = await startServeProcess(lab.proxies.negotiate, profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []);
const url = `${lab.origins[values.http ? 'http' : 'https'].url}/bench`;
console.log(`serve pid ${serve.pid}, forwarder pid ${forwarder.process.pid}`);

async function run(name, uri, relayCpu) {
  const d = new ProxyAgent({ uri, requestTls: { ca: lab.ca }, proxyTunnel: !values.http });
  const one = async () => {
    const res = await request(url, { dispatcher: d });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  };
  for (let i = 0; i < 200; i++) await one(); // warm-up, tunnels open
  const relay0 = await relayCpu();
  const own0 = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < requests) await one();
  }));
  const ms = performance.now() - started;
  const relay1 = await relayCpu();
  const user = relay1.user - relay0.user;
  const system = relay1.system - relay0.system;
  const own = process.cpuUsage(own0);
  await d.close();
  console.log(`${name}: ${((requests / ms) * 1000).toFixed(0)} req/s; relay CPU ${((user + system) / requests).toFixed(1)} us/req (user ${(user / requests).toFixed(1)}, system ${(system / requests).toFixed(1)}); client+origin process CPU ${((own.user + own.system) / requests).toFixed(1)} us/req`);
}

try {
  await run('serve (own process)', serve.url, () => serve.cpu());
  await run('Squid forwarder', forwarder.url, async () => procCpu(forwarder.process.pid));
} finally {
  await serve.stop();
  await forwarder.stop();
  await lab.stop();
}
