import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { freePort, waitForPort } from '../../lab/processes.js';

test('freePort: below the ephemeral range (no outgoing connection can take it before the service binds), distinct each time', async () => {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  assert.equal(new Set(ports).size, ports.length);
  for (const port of ports) assert.ok(port >= 20000 && port < (low as number), String(port));
});

test("waitForPort does not take another process's listener on the port for the service it waits for", async () => {
  // Two labs starting at once can pick the same port: the one that binds second must not be told its
  // service is up because the other's answers there.
  const port = await freePort();
  const other = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => other.listen(port, '127.0.0.1', resolve));
  const service = spawn(process.execPath, ['-e', 'setTimeout(() => process.exit(3), 1500)'], { stdio: 'ignore' });
  try {
    await assert.rejects(waitForPort(port, 'the service', 10_000, [], service), { code: 'ERR_JAATO_LAB_SETUP', message: /the service exited \(code 3\)/ });
  } finally {
    service.kill();
    await new Promise<void>((resolve) => other.close(() => resolve()));
  }
});
