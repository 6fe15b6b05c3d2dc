// The client side of the AD lab's tests, run inside the lab's network namespace (`lab.node`): starts an
// HTTP and an HTTPS echo origin there, makes one request per client family and scheme through the
// proxy given, and prints one JSON line per request: the status, or the error's class, code and message.
// Argument: JSON { proxy, clients?: ('fetch' | 'agents' | 'serve' | 'net')[], spn?: string, kerberos?: boolean,
// proxyAuth?: string, repeat?: number }. `serve`: curl through a local proxy (startLocalProxy) to the
// proxy given; `net`: a child curl of the safety net (install({ localProxy: true })), which finds the
// local proxy in the variables it inherits, nothing on its command line; `repeat`: requests per client
// and scheme, one after the other (kept-alive connections).
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgents, createFetch, install, JaatoProxyError, uninstall, unwrapError } from '../../src/index.js';
import { startLocalProxy } from '../../src/server/local-proxy.js';
import type { ProxyAuthSetting } from '../../src/auth/index.js';
import { createCertificates } from '../../lab/certs.js';
import { startHttpOrigin, startHttpsOrigin } from '../../lab/origin.js';

type Client = 'fetch' | 'agents' | 'serve' | 'net';

interface Spec {
  proxy: string;
  clients?: Client[];
  spn?: string;
  kerberos?: boolean;
  proxyAuth?: ProxyAuthSetting;
  repeat?: number;
}

export interface AdResult {
  client: Client;
  scheme: 'https' | 'http';
  status?: number;
  error?: { name: string; code: string | undefined; message: string; cause?: { name: string; code: string | undefined } };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const dir = mkdtempSync(join(tmpdir(), 'jaato-adclient-'));
const certs = await createCertificates(dir);
const origins = { http: await startHttpOrigin(), https: await startHttpsOrigin(certs) };
const options = { proxy: spec.proxy, kerberos: spec.kerberos ?? true, env: {}, ca: certs.ca, ...(spec.spn && { spn: spec.spn }), ...(spec.proxyAuth && { proxyAuth: spec.proxyAuth }) };
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, certs.ca);

/**
 * curl through the local proxy: one invocation, `count` requests (curl keeps its connection to serve).
 * No port: the proxy comes from the variables the child inherits (the safety net's).
 */
function curl(port: number | undefined, url: string, count: number): Promise<number[]> {
  const args = ['-sS', '--cacert', caFile, ...(port !== undefined ? ['-x', `http://127.0.0.1:${port}`] : []), '-w', '%{http_code}\\n'];
  for (let i = 0; i < count; i++) args.push('-o', '/dev/null', url);
  return new Promise((resolve, reject) => {
    execFile('curl', args, { timeout: 60_000, env: process.env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`curl: ${stderr || error.message}`));
      else resolve(stdout.trim().split('\n').map(Number));
    });
  });
}

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
const repeat = spec.repeat ?? 1;
for (const client of spec.clients ?? ['fetch', 'agents']) {
  const f = client === 'fetch' ? createFetch(options) : undefined;
  const agents = client === 'agents' ? createAgents(options) : undefined;
  const serve = client === 'serve' ? await startLocalProxy({ ...options, port: 0 }) : undefined;
  const net = client === 'net' ? await install({ ...options, localProxy: true }) : undefined;
  if (net && !net.localProxy) throw new Error('install({ localProxy: true }) started no local proxy');
  for (const scheme of ['https', 'http'] as const) {
    const url = `${origins[scheme].url}/ad-${client}-${scheme}`;
    if (serve || net) {
      try {
        for (const status of await curl(serve?.port, url, repeat)) results.push({ client, scheme, status });
      } catch (error) {
        results.push({ client, scheme, error: describe(error) });
      }
      continue;
    }
    for (let i = 0; i < repeat; i++) {
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
  }
  await f?.dispatcher.close();
  agents?.http.destroy();
  agents?.https.destroy();
  await serve?.close();
  if (net) await uninstall();
}
await Promise.all([origins.http.close(), origins.https.close()]);
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(results)}\n`);
