// Against a real Active Directory KDC (Samba AD DC) and a Squid on a service account's AES keytab, all
// inside a network namespace the AD lab creates: the library authenticates as the domain user, a user
// in 3,000 groups (a ~34 KB header) passes a Squid with a raised limit and gets the typed error from one
// without, and each way AD says no is named by its own error. The clients run in the namespace (lab.node).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAdLab, type AdLab } from '../../src/lab/ad.js';
import type { AdResult } from './ad-client.js';

const CLIENT = join(fileURLToPath(new URL('.', import.meta.url)), 'ad-client.js');
let lab: AdLab;

before(async () => {
  const started = await startAdLab({ squidHeaderLimit: 40 * 1024 });
  lab = started;
  // Measured: the DC from the cache, or provisioned (first run); the lab up.
  process.stdout.write(`# AD lab: DC ${started.timings.cached ? 'from the cache' : 'provisioned'} in ${started.timings.dcMs} ms, up in ${started.timings.startMs} ms\n`);
});
after(async () => lab?.stop());

async function through(proxy: string, env: Record<string, string> = {}, extra: Record<string, unknown> = {}): Promise<AdResult[]> {
  const r = await lab.node(CLIENT, [JSON.stringify({ proxy, ...extra })], env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as AdResult[];
}

function statuses(results: AdResult[]): string[] {
  return results.map((r) => `${r.client} ${r.scheme}: ${r.status ?? `${r.error?.name} ${r.error?.code}`}`);
}

const ALL_OK = ['fetch https: 200', 'fetch http: 200', 'agents https: 200', 'agents http: 200'];

test('AD: fetch and the node agents authenticate as the domain user through Squid (AES only end to end)', async () => {
  const before = lab.accessLog().length;
  assert.deepEqual(statuses(await through(lab.proxyUrl)), ALL_OK);
  const users = new Set(lab.accessLog().slice(before).filter((l) => l.status === 200).map((l) => l.user));
  assert.deepEqual([...users], [lab.users.user.principal]);
});
