// The client side of the AD lab's tests, run inside the lab's network namespace (`lab.node`): starts an
// HTTP and an HTTPS echo origin there, makes one request per client family and scheme through the
// proxy given, and prints one JSON line per request: the status, or the error's class, code and message.
// Argument: JSON { proxy, clients?: ('fetch' | 'agents')[], spn?: string }.
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgents, createFetch, JaatoProxyError, unwrapError } from '../../src/index.js';
import { createCertificates } from '../../lab/certs.js';
import { startHttpOrigin, startHttpsOrigin } from '../../lab/origin.js';

interface Spec {
  proxy: string;
  clients?: Array<'fetch' | 'agents'>;
  spn?: string;
}

export interface AdResult {
  client: 'fetch' | 'agents';
  scheme: 'https' | 'http';
  status?: number;
  error?: { name: string; code: string | undefined; message: string; cause?: { name: string; code: string | undefined } };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const dir = mkdtempSync(join(tmpdir(), 'jaato-adclient-'));
const certs = await createCertificates(dir);
const origins = { http: await startHttpOrigin(), https: await startHttpsOrigin(certs) };
const options = { proxy: spec.proxy, kerberos: true, env: {}, ca: certs.ca, ...(spec.spn && { spn: spec.spn }) };

function describe(error: unknown): AdResult['error'] {
  const e = unwrapError(error) as Error;
  const cause = e instanceof JaatoProxyError && e.cause instanceof JaatoProxyError ? { name: e.cause.name, code: e.cause.code } : undefined;
  return { name: e.constructor.name, code: (e as JaatoProxyError).code, message: e.message, ...(cause && { cause }) };
}

function get(mod: typeof http | typeof https, url: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    mod.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

const results: AdResult[] = [];
for (const client of spec.clients ?? ['fetch', 'agents']) {
  const f = client === 'fetch' ? createFetch(options) : undefined;
  const agents = client === 'agents' ? createAgents(options) : undefined;
  for (const scheme of ['https', 'http'] as const) {
    const url = `${origins[scheme].url}/ad-${client}-${scheme}`;
    try {
      let status: number;
      if (f) {
        const res = await f(url);
        await res.arrayBuffer();
        status = res.status;
      } else {
        status = await get(scheme === 'https' ? https : http, url, scheme === 'https' ? agents!.https : agents!.http);
      }
      results.push({ client, scheme, status });
    } catch (error) {
      results.push({ client, scheme, error: describe(error) });
    }
  }
  await f?.dispatcher.close();
  agents?.http.destroy();
  agents?.https.destroy();
}
await Promise.all([origins.http.close(), origins.https.close()]);
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(results)}\n`);
