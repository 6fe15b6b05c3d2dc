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
