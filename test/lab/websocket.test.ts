import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createCertificates } from '../../src/lab/certs.js';
import { startHttpOrigin, startHttpsOrigin } from '../../src/lab/origin.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Opens `url`, sends a text and a binary message, returns what came back. */
async function echo(url: string, ca?: string): Promise<Array<[string, boolean]>> {
  const ws = new WebSocket(url, ca ? { ca } : {});
  const got: Array<[string, boolean]> = [];
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send('hello');
      ws.send(Buffer.from([1, 2, 3]));
    });
    ws.on('message', (data: Buffer, isBinary) => {
      got.push([isBinary ? data.toString('hex') : data.toString('utf8'), isBinary]);
      if (got.length === 2) resolve();
    });
  });
  ws.close();
  return got;
}

test('lab origins: a ws:// and a wss:// echo on /ws, text and binary as sent; the upgrade is recorded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jaato-ws-'));
  const certs = await createCertificates(dir);
  const http = await startHttpOrigin();
  const https = await startHttpsOrigin(certs);
  try {
    const expected: Array<[string, boolean]> = [['hello', false], ['010203', true]];
    assert.deepEqual(await echo(`${http.url.replace('http:', 'ws:')}/ws/echo`), expected);
    assert.deepEqual(await echo(`${https.url.replace('https:', 'wss:')}/ws/echo`, certs.ca), expected);
    assert.equal(http.seen.at(-1)?.headers.upgrade, 'websocket');
    await assert.rejects(echo(`${http.url.replace('http:', 'ws:')}/not-ws`), /400/);
  } finally {
    await Promise.all([http.close(), https.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});
