// Rows 4 and 5: the route decision, shouldBypassProxy + getProxyUrl, against proxy-from-env's
// getProxyForUrl (the package axios and request use) on the same URLs, and against itself as
// NO_PROXY grows from 10 to 10,000 entries.
import { getProxyForUrl } from 'proxy-from-env';
import { getProxyUrl, shouldBypassProxy } from '../dist/index.js';
import { interleave, median, ratioCell, ratios, valueCell } from './stats.mjs';

const PROXY = 'http://proxy.corp.example:8080';

/** n entries of the shapes a corporate list holds: domains with a leading dot, hosts, a few ranges. */
function noProxyList(n) {
  const entries = ['localhost', '127.0.0.1', '10.0.0.0/8', '.corp.example'];
  for (let i = 0; entries.length < n; i++) entries.push(i % 3 === 0 ? `.svc${i}.internal${i % 50}.example` : i % 3 === 1 ? `host${i}.lan${i % 40}.example` : `172.${16 + (i % 16)}.${i % 256}.${i % 200}`);
  return entries.slice(0, n).join(',');
}

/** URLs that bypass (a subdomain, an address, localhost) and URLs that go to the proxy. */
function urls(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const k = i % 6;
    out.push(
      k === 0 ? `https://api${i}.corp.example/v1/items?page=${i}`
        : k === 1 ? `http://127.0.0.1:${8000 + (i % 100)}/health`
        : k === 2 ? `https://www.github.com/org/repo${i}`
        : k === 3 ? `https://registry.npmjs.org/pkg${i}`
        : k === 4 ? `http://localhost:3000/${i}`
        : `https://a.b.c.api.openai.com/v1/chat/${i}`,
    );
  }
  return out;
}

// Both give the same answer for these URLs (checked once below): bypassed, or this proxy.
const jaato = (env) => (u) => (shouldBypassProxy(u, env) ? '' : getProxyUrl(u, env));

/** Nanoseconds per decision, over `iterations` passes of the URL list. */
function timeDecisions(decide, list, iterations) {
  let sink = 0;
  const started = process.hrtime.bigint();
  for (let it = 0; it < iterations; it++) for (const u of list) sink += decide(u).length;
  const ns = Number(process.hrtime.bigint() - started) / (iterations * list.length);
  if (sink < 0) throw new Error('unreachable');
  return ns;
}

/** Runs with process.env set as given, restoring it after. */
function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

export async function decisionRows({ rounds, scale }) {
  const clear = { http_proxy: undefined, HTTP_PROXY: undefined, https_proxy: undefined, all_proxy: undefined, ALL_PROXY: undefined, no_proxy: undefined, JAATO_NO_PROXY: undefined };
  for (const k of Object.keys(clear)) delete process.env[k];
  const list = urls(120);
  const rows = [];

  // Row 4: 50 entries. proxy-from-env reads process.env only, so both read process.env; the library
  // with an env object (what `env:` options and adapters built with one read) is shown beside it.
  const env50 = { HTTPS_PROXY: PROXY, HTTP_PROXY: PROXY, NO_PROXY: noProxyList(50) };
  withEnv(env50, () => {
    const same = (u) => getProxyForUrl(u).replace(/\/$/, '') === jaato(process.env)(u).replace(/\/$/, '');
    for (const u of list) if (!same(u)) throw new Error(`the two disagree on ${u}: "${getProxyForUrl(u)}" vs "${jaato(process.env)(u)}"`);
  });
  const iterations = Math.max(1, Math.round(400 * scale));
  const row4 = await interleave(rounds, ['proxy-from-env', 'jaato process.env', 'jaato env object'], async (s) =>
    withEnv(env50, () => timeDecisions(s === 'proxy-from-env' ? getProxyForUrl : jaato(s === 'jaato env object' ? { ...env50 } : process.env), list, iterations)),
  );
  const pfe = row4.get('proxy-from-env');
  for (const [name, label] of [['jaato process.env', 'process.env (both read it)'], ['jaato env object', 'an env object']]) {
    const speedup = ratios(pfe, row4.get(name));
    rows.push({
      id: 4,
      measure: `route decision, 50-entry NO_PROXY, ${label}`,
      baselineName: 'proxy-from-env `getProxyForUrl`, process.env, same URLs',
      candidate: `${(median(row4.get(name)) / 1000).toFixed(2)} us`,
      baseline: `${(median(pfe) / 1000).toFixed(2)} us`,
      result: `${ratioCell(speedup, 1)} faster`,
      goal: '>= 10x faster',
      met: median(speedup) >= 10,
    });
  }

  // Row 5: 10 -> 10,000 entries, same URLs; repeated URLs (decisions reused) and all-new hosts
  // (every URL parsed and matched: the index's own cost).
  const fresh = (n) => urls(n).map((u, i) => u.replace(/:\/\/(?=[a-z])/, `://n${i}x`).replace('127.0.0.1:', `127.0.${(i >> 8) & 255}.${i & 255}:`));
  const sizes = { small: noProxyList(10), large: noProxyList(10_000) };
  for (const [source, envFor] of [['an env object', (v) => ({ HTTPS_PROXY: PROXY, HTTP_PROXY: PROXY, NO_PROXY: v })], ['process.env', null]]) {
    for (const repeated of [true, false]) {
      const scenarios = ['small', 'large'];
      const res = await interleave(rounds, scenarios, async (size) => {
        const vars = { HTTPS_PROXY: PROXY, HTTP_PROXY: PROXY, NO_PROXY: sizes[size] };
        const bigRead = source === 'process.env' && size === 'large';
        // process.env copies a value on every read (about 1 ns per byte here): fewer passes for the large list.
        const passes = Math.max(1, Math.round((bigRead ? 2 : repeated ? 200 : 4) * scale));
        return withEnv(vars, () => {
          const env = envFor ? envFor(sizes[size]) : process.env;
          const decide = jaato(env);
          if (repeated) return timeDecisions(decide, list, passes);
          let total = 0;
          for (let p = 0; p < passes; p++) total += timeDecisions(decide, fresh(2000), 1);
          return total / passes;
        });
      });
      const growth = ratios(res.get('large'), res.get('small'));
      rows.push({
        id: 5,
        measure: `route decision, 10 -> 10,000 NO_PROXY entries, ${source}, ${repeated ? 'repeated hosts' : 'every host new'}`,
        baselineName: 'itself with 10 entries',
        candidate: `${(median(res.get('large')) / 1000).toFixed(2)} us`,
        baseline: `${(median(res.get('small')) / 1000).toFixed(2)} us`,
        result: `${ratioCell(growth)} growth`,
        goal: '<= 2x',
        met: median(growth) <= 2,
      });
    }
  }
  return rows;
}

export { valueCell };
