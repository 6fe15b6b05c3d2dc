// Every row of issue 12 in one run, each against its baseline measured in the same run, interleaved
// round by round; one table of medians with their spread.
//
//   npm run bench [-- --rounds 5 --requests 2000 --concurrency 8 --only 1,2,3,4,5,6,7]
//   row 7 compares with the kerberos addon when JAATO_BENCH_KERBEROS names an installed copy (bench/token.mjs)
//
// --requests scales every row (the forwarded-http row sends half as many, the decision rows scale
// their passes with it); the defaults take a few minutes on two busy cores.
import { parseArgs } from 'node:util';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startLab } from '../.test-build/lab/lab.js';
import { decisionRows } from './decision.mjs';
import { networkRows } from './network.mjs';
import { pacRows } from './pac.mjs';
import { tokenRows } from './token.mjs';
import { printTable } from './stats.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    only: { type: 'string', default: '1,2,3,4,5,6,7' },
  },
});
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const selected = new Set(values.only.split(',').map(Number));
const only = (id) => selected.has(id);
for (const [k, v] of Object.entries({ rounds, requests, concurrency })) if (!(v > 0)) throw new Error(`--${k} must be a positive number`);

const started = performance.now();
const rows = [];
if (only(4) || only(5)) rows.push(...(await decisionRows({ rounds, scale: requests / 2000, only })));
if (only(6)) rows.push(...(await pacRows({ rounds, scale: requests / 2000 })));
if (only(1) || only(2) || only(3) || only(7)) {
  const lab = await startLab();
  Object.assign(process.env, lab.env);
  try {
    if (only(1) || only(2) || only(3)) rows.push(...(await networkRows(lab, { rounds, requests, concurrency, only })));
    if (only(7)) rows.push(...(await tokenRows({ rounds, tokens: Math.max(20, Math.round(requests / 10)) })));
  } finally {
    await lab.stop();
  }
}
rows.sort((a, b) => a.id - b.id);

const pkg = (name) => JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
const version = (cmd, args, re) => {
  try {
    return re.exec(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))?.[1] ?? '?';
  } catch {
    return '?';
  }
};
const machine = `${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, load ${os.loadavg().map((l) => l.toFixed(1)).join('/')}`;
const versions = `node ${process.version}, undici ${pkg('undici')}, proxy-from-env ${pkg('proxy-from-env')}, pac-proxy-agent ${pkg('pac-proxy-agent')}, Squid ${version('squid', ['-v'], /Version (\S+)/)}, ${os.type()} ${os.release()}`;
printTable(
  `${rounds} rounds, ${requests} requests, concurrency ${concurrency}; ${machine}; ${versions}; ${((performance.now() - started) / 1000).toFixed(0)} s`,
  rows,
);
