// One scenario of row 1 alone, for a CPU profile of just that client (the bench interleaves several
// in one process, which a profile cannot tell apart):
//
//   node --cpu-prof --cpu-prof-dir=prof bench/profile.mjs negotiate|basic|baseline [requests=20000]
//   node bench/profile.mjs --summary prof/<file>.cpuprofile [requests]  # self time by origin, layer and function, per request if given
import { readFileSync } from 'node:fs';
import { ProxyAgent } from 'undici';

if (process.argv[2] === '--summary') {
  summarize(JSON.parse(readFileSync(process.argv[3], 'utf8')), Number(process.argv[4] ?? 0));
} else {
  const [which = 'negotiate', n = '20000'] = process.argv.slice(2);
  const { startLab } = await import('../.test-build/lab/lab.js');
  const { createFetch } = await import('../dist/index.js');
  const lab = await startLab();
  Object.assign(process.env, lab.env);
  try {
    const url = `${lab.origins.https.url}/bench`;
    const basic = `${lab.basic.username}:${lab.basic.password}`;
    let f;
    if (which === 'baseline') {
      const dispatcher = new ProxyAgent({ uri: lab.proxies.basic, token: `Basic ${Buffer.from(basic).toString('base64')}`, requestTls: { ca: lab.ca } });
      f = Object.assign((u) => fetch(u, { dispatcher }), { dispatcher });
    } else {
      const proxy = which === 'basic' ? `http://${basic}@${lab.proxies.basic.slice(7)}` : lab.proxies.negotiate;
      f = createFetch({ proxy, kerberos: which === 'negotiate', env: {}, ca: lab.ca });
    }
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next++ < Number(n)) await (await f(url)).arrayBuffer();
    }));
    console.log(`${which}: ${((Number(n) / (performance.now() - started)) * 1000).toFixed(0)} req/s`);
    await f.dispatcher.close();
  } finally {
    await lab.stop();
  }
}

/** Self time per package (node internals, undici, jaato-proxy, ...) and the top functions. */
function summarize(profile, requests) {
  const { nodes, samples, timeDeltas } = profile;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const self = new Map();
  samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const where = (url) => {
    if (url === '') return '(native / program / gc / idle)';
    if (url.includes('/node_modules/undici/')) return 'undici (npm)';
    if (url.includes('/.test-build/lab/')) return 'lab (the origin, in this process)';
    if (url.includes('/dist/')) return `jaato-proxy ${url.slice(url.indexOf('/dist/') + 6)}`;
    if (url.startsWith('node:internal/deps/undici')) return "undici (Node's bundled fetch)";
    if (url.startsWith('node:')) return `node ${url.slice(5).split('/').slice(0, 2).join('/')}`;
    return url.replace(/^.*\/work\/wt\/[^/]+\//, '');
  };
  const groups = new Map();
  const fns = new Map();
  for (const [id, t] of self) {
    const { callFrame: f } = byId.get(id);
    const w = where(f.url);
    const g = w.startsWith('jaato-proxy') ? `jaato-proxy ${w.split(' ')[1].split('/')[0]}` : w;
    groups.set(g, (groups.get(g) ?? 0) + t);
    const key = `${f.functionName || '(anonymous)'} ${where(f.url)}:${f.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + t);
  }
  // The rows of the README's profile table.
  const layers = new Map();
  const layer = (f) => {
    const { url, functionName: fn } = f;
    if (fn === '(idle)') return 'idle';
    if (url.startsWith('node:internal/deps/undici')) return "Node's bundled fetch";
    if (/\/node_modules\/undici\/lib\/handler\/(un)?wrap-handler/.test(url) || (url.includes('/node_modules/undici/') && fn === 'parseHeaders')) return 'npm undici: converting the handler API and back';
    if (url.includes('/node_modules/undici/')) return 'npm undici: the rest';
    if (/\/dist\/(adapters|transport|pac)\//.test(url)) return 'jaato-proxy dispatch (adapters, transport, pac)';
    if (/\/dist\/(config\/|debug)/.test(url)) return 'jaato-proxy route decision (config)';
    if (url.includes('/.test-build/lab/')) return 'lab origin (this process)';
    if (/^write(v|Buffer|Latin1String|Utf8String)$/.test(fn)) return 'socket writes (native: TLS and the syscall)';
    if (fn === '(garbage collector)') return 'garbage collector';
    return 'everything else';
  };
  for (const [id, t] of self) {
    const l = layer(byId.get(id).callFrame);
    layers.set(l, (layers.get(l) ?? 0) + t);
  }
  const pct = (t) => (requests > 0 ? `${(t / requests).toFixed(1)} us/req`.padStart(13) : `${((t / total) * 100).toFixed(1)}%`.padStart(6));
  console.log(`total ${(total / 1000).toFixed(0)} ms sampled\n\nself time by origin:`);
  for (const [g, t] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(t)}  ${g}`);
  console.log('\nby layer:');
  for (const [l, t] of [...layers].sort((a, b) => b[1] - a[1])) console.log(`${pct(t)}  ${l}`);
  console.log('\ntop functions (self):');
  for (const [k, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${pct(t)}  ${k}`);
}
