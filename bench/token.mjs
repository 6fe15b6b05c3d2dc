// Row 7: making a Negotiate token through the koffi binding (NegotiateContext, MIT's libgssapi_krb5)
// against the `kerberos` addon it replaced (issue 20), measured in the same run, interleaved round by
// round. The service ticket is in the cache after the warm-up, so this is the local cost of a token:
// the calls, the pool hop, the copies; the KDC is not in it.
//
// The addon is no dependency of this project any more: JAATO_BENCH_KERBEROS names an installed copy
// (a `kerberos` package directory, e.g. node_modules/kerberos of a checkout from before issue 20).
// Without it the row shows the binding's own time and no ratio.
import { createRequire } from 'node:module';
import { NegotiateContext } from '../dist/auth/spnego.js';
import { loadSecurityProvider } from '../dist/auth/native/load.js';
import { interleave, median, ratioCell, ratios, spread } from './stats.mjs';

/** Milliseconds per token over `count` tokens made one after another. */
async function perToken(count, make) {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const token = await make();
    if (!token) throw new Error('no token');
  }
  return (performance.now() - started) / count;
}

function loadAddon() {
  const dir = process.env.JAATO_BENCH_KERBEROS;
  if (!dir) return undefined;
  return createRequire(import.meta.url)(dir);
}

export async function tokenRows({ rounds, tokens }) {
  const spn = 'HTTP@localhost';
  const { info } = await loadSecurityProvider();
  const binding = async () => (await NegotiateContext.start(spn)).token;
  const addon = loadAddon();
  const viaAddon = addon && (async () => (await addon.initializeClient(spn, { mechOID: addon.GSS_MECH_OID_SPNEGO, flags: addon.GSS_C_MUTUAL_FLAG | addon.GSS_C_SEQUENCE_FLAG })).step(''));
  const scenarios = viaAddon ? ['binding', 'addon'] : ['binding'];
  const results = await interleave(rounds, scenarios, (s) => perToken(tokens, s === 'binding' ? binding : viaAddon));
  const ms = results.get('binding');
  const cell = (xs) => `${median(xs).toFixed(3)} ms (${spread(xs).map((x) => x.toFixed(3)).join('-')})`;
  const row = {
    id: 7,
    measure: `time per SPNEGO token, ${tokens} in a row (${info.family} ${info.library}; service ticket cached)`,
    baselineName: viaAddon ? `the kerberos addon ${createRequire(import.meta.url)(`${process.env.JAATO_BENCH_KERBEROS}/package.json`).version}` : 'not measured: set JAATO_BENCH_KERBEROS',
    candidate: cell(ms),
    baseline: viaAddon ? cell(results.get('addon')) : '-',
    result: viaAddon ? ratioCell(ratios(ms, results.get('addon'))) : '-',
    goal: 'no slower (<= 1.05x the addon)',
    met: viaAddon ? median(ratios(ms, results.get('addon'))) <= 1.05 : undefined,
  };
  return [row];
}
