import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAgents, createFetch, getAgent, type ProxyDispatcherOptions } from '../../src/index.js';
import type { Lab } from '../../lab/lab.js';
import type { AccessLogEntry } from '../../lab/squid.js';
import { logUntil, quietLogLength, type LogReader } from '../helpers/lab.js';
import { useLab } from '../helpers/lab.js';
import { WS_EXPECTED, undiciEcho, wsEcho, wsUrl } from '../helpers/websocket.js';

const ctx = useLab();

/** Both Negotiate proxy families; a WebSocket is a tunnel, authenticated like any other. */
const PROXIES: ReadonlyArray<{ name: string; url: (lab: Lab) => string; log: LogReader }> = [
  { name: 'squid', url: (lab) => lab.proxies.negotiate, log: (lab) => lab.accessLog() },
  { name: 'apache', url: (lab) => lab.proxies.perRequest, log: (lab) => lab.perRequestLog() },
];

const options = (lab: Lab, proxy: string): ProxyDispatcherOptions => ({ proxy, kerberos: true, exactNoProxy: '', noProxy: '', ca: lab.ca, env: {} });

/**
 * The proxy tunnelled to `port` for the lab user, and no proxy credential reached an origin. Waits for
 * that line itself: "a line since `from`" could be an earlier test's, logged when its tunnel closed.
 */
async function assertAuthenticatedTunnel(lab: Lab, log: LogReader, from: number, port: number): Promise<void> {
  const tunnelled = (e: AccessLogEntry): boolean => e.method === 'CONNECT' && e.url === `127.0.0.1:${port}` && e.status === 200 && e.user === lab.principal;
  const entries = await logUntil(lab, from, tunnelled, log);
  assert.ok(entries.some(tunnelled), JSON.stringify(entries));
  for (const origin of [lab.origins.http, lab.origins.https]) for (const seen of origin.seen) assert.equal(seen.headers['proxy-authorization'], undefined);
}

for (const proxy of PROXIES) {
  describe(`WebSocket through ${proxy.name}`, () => {
    for (const scheme of ['ws', 'wss'] as const) {
      test(`[${proxy.name}] ${scheme}:// echo with undici's WebSocket over createFetch's dispatcher`, async () => {
        const lab = ctx.lab;
        const origin = scheme === 'ws' ? lab.origins.http : lab.origins.https;
        const from = await quietLogLength(lab, proxy.log);
        const f = createFetch(options(lab, proxy.url(lab)));
        try {
          assert.deepEqual(await undiciEcho(wsUrl(origin.url, '/ws/undici'), f.dispatcher), WS_EXPECTED);
        } finally {
          await f.dispatcher.close();
        }
        await assertAuthenticatedTunnel(lab, proxy.log, from, origin.port);
      });

      test(`[${proxy.name}] ${scheme}:// echo with the ws package over createAgents' agent`, async () => {
        const lab = ctx.lab;
        const origin = scheme === 'ws' ? lab.origins.http : lab.origins.https;
        const from = await quietLogLength(lab, proxy.log);
        const agents = createAgents(options(lab, proxy.url(lab)));
        try {
          assert.deepEqual(await wsEcho(wsUrl(origin.url, '/ws/agent'), getAgent(origin.url, agents), lab.ca), WS_EXPECTED);
        } finally {
          agents.http.destroy();
          agents.https.destroy();
        }
        await assertAuthenticatedTunnel(lab, proxy.log, from, origin.port);
      });
    }
  });
}
