// Row 6: PAC. Decisions per second with a PAC (the library's per-host cache over its QuickJS
// evaluator) against pac-proxy-agent's resolver (pac-resolver on QuickJS, asked on every request, as
// pac-proxy-agent does), and the first request's latency with a PAC (load it, compile it, ask it,
// connect: an origin the PAC sends DIRECT) against pac-proxy-agent's first request.
import http from 'node:http';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { createPacResolver } from 'pac-resolver';
import { QuickJS } from 'quickjs-wasi';
import { PacProxyAgent } from 'pac-proxy-agent';
import { createFetch } from '../dist/index.js';
import { PacRouter } from '../dist/pac/pac-router.js';
import { interleave, median, ratioCell, ratios } from './stats.mjs';

const PAC = `function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || dnsDomainIs(host, '.corp.example') || shExpMatch(host, '*.internal')) return 'DIRECT';
  if (host === '127.0.0.1') return 'DIRECT';
  if (shExpMatch(url, 'https://*.github.com/*') || dnsDomainIs(host, 'openai.com')) return 'PROXY proxy-a.corp.example:8080; PROXY proxy-b.corp.example:8080';
  return 'PROXY proxy-a.corp.example:8080; DIRECT';
}`;

const HOSTS = Array.from({ length: 60 }, (_, i) => new URL(i % 3 === 0 ? `https://api${i}.github.com/x` : i % 3 === 1 ? `https://svc${i}.corp.example/` : `https://h${i}.openai.com/v1`));

async function serveOnce(handler) {
  const server = http.createServer(handler);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

export async function pacRows({ rounds, scale }) {
  const rows = [];
  const passes = Math.max(1, Math.round(100 * scale));
  // 6a: decisions per second, repeated hosts (a client talks to a few APIs again and again).
  const pacServer = await serveOnce((req, res) => {
    req.resume();
    res.writeHead(200).end(PAC);
  });
  const origin = await serveOnce((req, res) => {
    req.resume();
    res.end('ok');
  });
  try {
    const wasm = await WebAssembly.compile(await readFile(createRequire(import.meta.url).resolve('quickjs-wasi/quickjs.wasm')));
    const qjs = await QuickJS.create({ wasm });
    const theirs = createPacResolver(qjs, PAC);
    const router = new PacRouter({ url: `${pacServer.url}/decisions.pac` });
    await router.decide(HOSTS[0]);
    const perSecond = await interleave(rounds, ['jaato', 'pac-resolver'], async (s) => {
      const started = performance.now();
      let n = 0;
      for (let p = 0; p < passes; p++) {
        for (const u of HOSTS) {
          if (s === 'jaato') await router.decide(u);
          else await theirs(u.href);
          n++;
        }
      }
      return n / ((performance.now() - started) / 1000);
    });
    const speed = ratios(perSecond.get('jaato'), perSecond.get('pac-resolver'));
    rows.push({
      id: 6,
      measure: `PAC decisions per second, ${HOSTS.length} hosts asked again and again`,
      baselineName: "pac-proxy-agent's resolver (pac-resolver, asked on every request)",
      candidate: `${Math.round(median(perSecond.get('jaato')))}/s`,
      baseline: `${Math.round(median(perSecond.get('pac-resolver')))}/s`,
      result: `${ratioCell(speed, 1)} faster`,
      goal: 'report',
    });
    router.close();
    qjs.dispose();

    // 6b: the first request through a fresh client with a PAC (a new PAC URL each time: nothing cached).
    let fresh = 0;
    const first = await interleave(rounds, ['jaato', 'pac-proxy-agent'], async (s) => {
      const pacUrl = `${pacServer.url}/first-${++fresh}.pac`;
      const started = performance.now();
      if (s === 'jaato') {
        const f = createFetch({ pac: pacUrl, env: {} });
        await (await f(`${origin.url}/first`)).text();
        const ms = performance.now() - started;
        await f.dispatcher.close();
        return ms;
      }
      const agent = new PacProxyAgent(pacUrl);
      await new Promise((resolve, reject) => {
        http.get(`${origin.url}/first`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
      });
      const ms = performance.now() - started;
      agent.destroy();
      return ms;
    });
    const latency = ratios(first.get('pac-proxy-agent'), first.get('jaato'));
    rows.push({
      id: 6,
      measure: 'first request with a PAC (fetch, compile, ask, connect; the PAC says DIRECT)',
      baselineName: 'pac-proxy-agent, a fresh agent, http.get',
      candidate: `${median(first.get('jaato')).toFixed(1)} ms`,
      baseline: `${median(first.get('pac-proxy-agent')).toFixed(1)} ms`,
      result: `${ratioCell(latency, 2)} (baseline / candidate)`,
      goal: 'report',
    });
  } finally {
    pacServer.server.close();
    origin.server.close();
  }
  return rows;
}
