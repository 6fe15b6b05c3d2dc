// One deadline for a tunnel's setup: the CONNECT answer waits only what is left of `timeout` after the
// dial and the token, so a loaded machine (slow token, late timers) cannot stretch the bound to 10 + n s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { parseProxyUrl } from '../../src/config/proxy-url.js';
import type { ProxyRoute } from '../../src/config/proxy-config.js';
import { ProxyTimeoutError } from '../../src/transport/errors.js';
import { openTunnel } from '../../src/transport/tunnel.js';
import { createFetch, ProxyTimeoutError as PublicTimeoutError, unwrapError } from '../../src/index.js';

test('openTunnel with a deadline: a proxy that never answers CONNECT ends at the deadline, not a full timeout after the dial', async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((s) => void sockets.add(s.on('error', () => undefined)));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const route: ProxyRoute = { type: 'proxy', proxy: parseProxyUrl(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, 'test'), auth: 'none', rule: 'test' };
  try {
    // The steps before the answer took 4 of the 5 s already (as a token can under load): 1 s is left.
    const started = performance.now();
    const error = await openTunnel(route, 'origin.test', 443, { timeout: 5000, deadline: started + 1000 }).then(() => undefined, (e: unknown) => e);
    const elapsed = performance.now() - started;
    assert.ok(error instanceof ProxyTimeoutError, String(error));
    assert.equal(error.phase, 'connect-response');
    assert.match(error.message, /Timed out after 5000 ms waiting for the answer to CONNECT origin\.test:443/, 'names the bound in force');
    assert.ok(elapsed >= 900 && elapsed < 4000, `ended after ${Math.round(elapsed)} ms (deadline 1000 ms, timeout 5000 ms)`);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});

test('fetch: many tunnels set up at once through a silent proxy each end at connectTimeout, with no listener-leak warning', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const sockets = new Set<Socket>();
  const silent = createServer((s) => void sockets.add(s.on('error', () => undefined)));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const f = createFetch({ proxy: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, kerberos: false, env: {}, connectTimeout: 1000 });
  try {
    const started = performance.now();
    const errors = await Promise.all(Array.from({ length: 16 }, (_, i) => f(`https://origin${i}.test/`).then(() => undefined, (e: unknown) => unwrapError(e))));
    const elapsed = performance.now() - started;
    for (const e of errors) {
      assert.ok(e instanceof PublicTimeoutError, String(e));
      assert.equal(e.phase, 'connect-response');
    }
    assert.ok(elapsed < 4000, `${Math.round(elapsed)} ms for a 1000 ms bound`);
    await new Promise((r) => setImmediate(r)); // a warning is emitted on the next tick
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
    await f.dispatcher.destroy();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});
