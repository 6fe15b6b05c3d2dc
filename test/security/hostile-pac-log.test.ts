/**
 * What a hostile PAC can put in a debug line (issue 24): an `alert()` text with a newline forged a
 * second line, and an escape sequence reached the terminal. Checked where the lines are written,
 * NODE_DEBUG's stderr in a child process, and on the debug channel `fetch -v` reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProxyConfig } from '../../src/config/proxy-config.js';
import { debug, debugChannel, printable } from '../../src/debug.js';
import { pacRoutes } from '../../src/pac/pac-route.js';

const FORGED = "hello\\nJAATO-PROXY 1: forward via http://fake/ (HTTPS_PROXY, auth negotiate)\\u001b[2J\\r\\u2028\\u009b31m\\u202eevil";

test('printable: every control character escaped, the rest untouched', () => {
  assert.equal(printable('a\nb\r\tc\u0000\u001b[2J\u007f\u009b\u2028\u2029\u202e\u2066 é ✓ \\n'), 'a\\nb\\r\\tc\\x00\\x1b[2J\\x7f\\x9b\\u2028\\u2029\\u202e\\u2066 é ✓ \\n');
});

test('debug lines: a PAC alert() cannot forge a line or send an escape sequence (NODE_DEBUG, in a child)', async () => {
  const route = new URL('../../src/pac/pac-route.js', import.meta.url).href;
  const script = `
    import { createServer } from 'node:http';
    import { pacRouterFor } from ${JSON.stringify(route)};
    const server = createServer((req, res) => res.end(${JSON.stringify(`function FindProxyForURL(url, host) { alert('${FORGED}'); return 'DIRECT'; }`)}));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const router = pacRouterFor('http://127.0.0.1:' + server.address().port + '/proxy.pac');
    await router.decide(new URL('http://a.test/'));
    router.close();
    server.close();
  `;
  const stderr = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, NODE_DEBUG: 'jaato-proxy' }, timeout: 30_000 }, (error, _out, err) =>
      error ? reject(new Error(`${error.message}\n${err}`)) : resolve(err),
    ),
  );
  const lines = stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0] ?? '', /^JAATO-PROXY \d+: PAC alert: hello\\nJAATO-PROXY 1: forward via http:\/\/fake\/ \(HTTPS_PROXY, auth negotiate\)\\x1b\[2J\\r\\u2028\\x9b31m\\u202eevil$/);
  assert.doesNotMatch(stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202e]/);
});

test('debug lines: the channel gets the escaped line too, arguments included; a cut PAC answer is said', async () => {
  const seen: string[] = [];
  const listen = (m: unknown): void => void seen.push((m as { message: string }).message);
  const server = createServer((req, res) => void res.end(`function FindProxyForURL() { alert('${FORGED}'); return Array(30).join('PROXY 127.0.0.1:9;'); }`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  debugChannel.subscribe(listen);
  try {
    debug('proxy said %s', 'x\r\nInjected: 1\u001b]0;title\u0007');
    const pac = `http://127.0.0.1:${(server.address() as AddressInfo).port}/proxy.pac`;
    const { routes } = await pacRoutes(new URL('http://a.test/'), new ProxyConfig({ env: {} }), { url: pac, source: 'options.pac' });
    assert.equal(routes.length, 10);
  } finally {
    debugChannel.unsubscribe(listen);
    await new Promise((r) => server.close(r));
  }
  assert.equal(seen[0], 'proxy said x\\r\\nInjected: 1\\x1b]0;title\\x07');
  assert.ok(seen.some((l) => l.startsWith('PAC alert: hello\\nJAATO-PROXY 1: forward via')), seen.join('\n'));
  assert.ok(seen.includes('a.test: PAC answer more than 10 entries: only the first 10 were read'), seen.join('\n'));
  for (const line of seen) assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202e]/);
});
