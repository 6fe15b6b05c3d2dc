// Rows 4 and 5: the route decision, shouldBypassProxy + getProxyUrl, against proxy-from-env's
// getProxyForUrl (the package axios and request use) on the same URLs, and against itself as
// NO_PROXY grows from 10 to 10,000 entries.
import { getProxyForUrl } from 'proxy-from-env';
import { getProxyUrl, shouldBypassProxy } from '../dist/index.js';
import { interleave, median, ratioCell, ratios } from './stats.mjs';

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

/**
 * What the library cannot avoid with process.env: reading the variables a decision depends on
 * (JAATO_NO_PROXY, no_proxy, NO_PROXY; https_proxy, HTTPS_PROXY), each a call into Node that copies
 * the value out of the C environment.
 */
function readsAlone() {
  const e = process.env;
  return `${e.JAATO_NO_PROXY ?? ''}${(e.no_proxy ?? e.NO_PROXY ?? '').length}${e.https_proxy ?? e.HTTPS_PROXY ?? ''}`;
}

/**
 * Nanoseconds per decision: passes over a list (`next()` gives each pass's list) until at least
 * `minMs` have been measured, so a fast case is not a 2 ms sample that one preemption ruins.
 */
function timeDecisions(decide, next, minMs) {
  let sink = 0;
  let ns = 0;
  let count = 0;
  while (ns < minMs * 1e6) {
    const list = next();
    const started = process.hrtime.bigint();
    for (const u of list) sink += decide(u).length;
    ns += Number(process.hrtime.bigint() - started);
    count += list.length;
  }
  if (sink < 0) throw new Error('unreachable');
  return ns / count;
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
  const minMs = 60 * scale;
  const row4 = await interleave(rounds, ['proxy-from-env', 'jaato process.env', 'jaato env object', 'process.env reads'], async (s) =>
    withEnv(env50, () => {
      const decide = s === 'proxy-from-env' ? getProxyForUrl : s === 'process.env reads' ? readsAlone : jaato(s === 'jaato env object' ? { ...env50 } : process.env);
      decide(list[0]);
      return timeDecisions(decide, () => list, minMs);
    }),
  );
  const floor = median(row4.get('process.env reads'));
  const pfe = row4.get('proxy-from-env');
  for (const [name, label] of [['jaato process.env', `process.env (both read it; the 5 variables' reads alone: ${(floor / 1000).toFixed(2)} us)`], ['jaato env object', 'an env object']]) {
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
  let pass = 0; // every pass's hosts are new: no decision or parse to reuse
  const fresh = (n) => {
    pass++;
    return urls(n).map((u, i) => u.replace(/:\/\/(?=[a-z])/, `://p${pass}n${i}x`).replace('127.0.0.1:', `127.${pass & 255}.${(i >> 8) & 255}.${i & 255}:`));
  };
  const sizes = { small: noProxyList(10), large: noProxyList(10_000) };
  for (const [source, envFor] of [['an env object', (v) => ({ HTTPS_PROXY: PROXY, HTTP_PROXY: PROXY, NO_PROXY: v })], ['process.env', null]]) {
    for (const repeated of [true, false]) {
      // With process.env, what the variables' reads alone cost for the large list, in the same rounds.
      const withFloor = source === 'process.env' && repeated;
      const scenarios = withFloor ? ['small', 'large', 'reads'] : ['small', 'large'];
      const res = await interleave(rounds, scenarios, async (size) => {
        const vars = { HTTPS_PROXY: PROXY, HTTP_PROXY: PROXY, NO_PROXY: sizes[size === 'reads' ? 'large' : size] };
        // The large list through process.env costs ~0.3 ms a decision: fewer new hosts per pass.
        const newHosts = source === 'process.env' && size !== 'small' ? 200 : 2000;
        return withEnv(vars, () => {
          const env = envFor ? envFor(vars.NO_PROXY) : process.env;
          const decide = size === 'reads' ? readsAlone : jaato(env);
          decide(list[0]); // compiles the lists for these values: once per change, not per decision
          return timeDecisions(decide, repeated ? () => list : () => fresh(newHosts), minMs);
        });
      });
      const growth = ratios(res.get('large'), res.get('small'));
      rows.push({
        id: 5,
        measure: `route decision, 10 -> 10,000 NO_PROXY entries, ${source}, ${repeated ? 'repeated hosts' : 'every host new'}` +
          (withFloor ? ` (with 10,000 entries the variables' reads alone: ${(median(res.get('reads')) / 1000).toFixed(2)} us)` : ''),
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

