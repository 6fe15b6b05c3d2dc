import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackHost } from '../../src/diagnostics/serve-checks.js';

// Host (as a parsed proxy URL gives it, IPv6 unbracketed) -> whether doctor asks it as a local serve.
const ROWS: Array<[string, boolean]> = [
  ['localhost', true],
  ['LocalHost', true],
  ['127.0.0.1', true],
  ['127.10.20.30', true],
  ['::1', true],
  ['127.999.1.1', false], // not an address: the digits are not octets
  ['127.example.com', false],
  ['128.0.0.1', false],
  ['10.0.0.1', false],
  ['::2', false],
  ['::ffff:127.0.0.1', false], // the URL parser writes it ::ffff:7f00:1; serve listens on 127.0.0.1 or ::1
  ['proxy.corp.example', false],
];

test('isLoopbackHost: serve on this machine is localhost, 127.0.0.0/8 or ::1', async (t) => {
  for (const [host, expected] of ROWS) await t.test(host, () => assert.equal(isLoopbackHost(host), expected));
});
