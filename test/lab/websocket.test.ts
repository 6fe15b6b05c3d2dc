import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificates } from '../../lab/certs.js';
import { startHttpOrigin, startHttpsOrigin } from '../../lab/origin.js';
import { WS_EXPECTED, wsEcho, wsUrl } from '../helpers/websocket.js';

test('lab origins: a ws:// and a wss:// echo on /ws, text and binary as sent; the upgrade is recorded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jaato-ws-'));
  const certs = await createCertificates(dir);
  const http = await startHttpOrigin();
  const https = await startHttpsOrigin(certs);
  try {
    assert.deepEqual(await wsEcho(wsUrl(http.url, '/ws/echo')), WS_EXPECTED);
    assert.deepEqual(await wsEcho(wsUrl(https.url, '/ws/echo'), undefined, certs.ca), WS_EXPECTED);
    assert.equal(http.seen.at(-1)?.headers.upgrade, 'websocket');
    await assert.rejects(wsEcho(wsUrl(http.url, '/not-ws')), /400/);
  } finally {
    await Promise.all([http.close(), https.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});
