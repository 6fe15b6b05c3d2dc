// The bench's arithmetic and its one table. Every comparison is a ratio taken within one round, with
// the baseline run in the same round, so machine noise (a shared, busy machine) hits both alike; a
// row reports the median of those ratios and their spread (lowest and highest round).
import { readdirSync, readFileSync } from 'node:fs';

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const spread = (xs) => [Math.min(...xs), Math.max(...xs)];

/**
 * Runs each scenario once per round, the order reversed every other round so neither always goes
 * first, after one warm-up pass. Returns each scenario's per-round results.
 */
export async function interleave(rounds, scenarios, run) {
  for (const s of scenarios) await run(s); // warm-up: JIT, TLS sessions, service tickets, helpers
  const results = new Map(scenarios.map((s) => [s, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? scenarios : [...scenarios].reverse();
    for (const s of order) results.get(s).push(await run(s));
  }
  return results;
}

/** The per-round ratios a/b of two result lists of the same length. */
export const ratios = (a, b) => a.map((x, i) => x / b[i]);

const fmt = (x, digits) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(digits));

/** `1.23x (1.10-1.31)` */
export const ratioCell = (rs, digits = 2) => {
  const [lo, hi] = spread(rs);
  return `${fmt(median(rs), digits)}x (${fmt(lo, digits)}-${fmt(hi, digits)})`;
};

export function printTable(title, rows) {
  console.log(`\n${title}\n`);
  console.log('| # | measure | baseline (same run) | candidate | baseline | result: median (spread) | goal | met |');
  console.log('|---|---|---|---:|---:|---:|---|---|');
  for (const r of rows) {
    console.log(`| ${r.id} | ${r.measure} | ${r.baselineName} | ${r.candidate} | ${r.baseline} | ${r.result} | ${r.goal} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} |`);
  }
}

/** Open descriptors of a process (this one by default), from /proc. */
export const fds = (pid = 'self') => readdirSync(`/proc/${pid}/fd`).length;
/** Resident memory of a process in MB, from /proc (VmRSS). */
export const rssMb = (pid = 'self') => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
