// doctor's proxy probe: against the lab's real Squid (whose 407 to a HEAD carries a Content-Length and
// no body), and against scripted proxies for the failures, each typed by what was asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyUrl } from '../../src/config/proxy-url.js';
import { ProxyConnectionError, ProxyTimeoutError, ProxyTunnelError } from '../../src/transport/errors.js';
import { probeProxy } from '../../src/transport/probe.js';
import { useLab } from '../helpers/lab.js';
import { scriptedProxy } from '../helpers/scripted-proxy.js';

const ctx = useLab();

for (const scheme of ['http', 'https'] as const) {
  test(`probe of an ${scheme} target through the Negotiate Squid: its 407 and offer, read at once`, async () => {
    const lab = ctx.lab;
    const proxy = parseProxyUrl(lab.proxies.negotiate, 'HTTP_PROXY');
    const started = performance.now();
    const probe = await probeProxy(proxy, new URL(`${lab.origins[scheme].url}/probe?q=1#frag`), { timeout: 5000 });
    assert.equal(probe.statusCode, 407);
    assert.deepEqual(probe.offered, ['negotiate']);
    assert.ok(performance.now() - started < 2000, `${Math.round(performance.now() - started)} ms`);
  });
}

test('probe sends the absolute form without userinfo or fragment', async () => {
  const p = await scriptedProxy((_h, socket) => socket.end('HTTP/1.1 407 No\r\nProxy-Authenticate: Basic realm="x"\r\nContent-Length: 99\r\n\r\n'));
  try {
    const probe = await probeProxy(parseProxyUrl(p.url, 'HTTP_PROXY'), new URL('http://user:secret@origin.test/a?b=1#c'), { timeout: 2000 });
    assert.deepEqual(probe.offered, ['basic']);
    assert.match(p.heads[0] ?? '', /^HEAD http:\/\/origin\.test\/a\?b=1 HTTP\/1\.1\r\n/);
    assert.ok(!(p.heads[0] ?? '').includes('secret'));
  } finally {
    await p.close();
  }
});

test('a malformed answer to the HEAD probe: ProxyConnectionError naming the HEAD, not a tunnel', async () => {
  const p = await scriptedProxy((_h, socket) => socket.write('HTTP/1.1 407 No\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\n'));
  try {
    await assert.rejects(probeProxy(parseProxyUrl(p.url, 'HTTP_PROXY'), new URL('http://origin.test/path?token=s3cret'), { timeout: 5000 }), (e: unknown) => {
      assert.ok(e instanceof ProxyConnectionError, String(e));
      assert.match(e.message, /failed during HEAD http:\/\/origin\.test: its answer is not valid HTTP\/1\.1: two different Content-Length values/);
      assert.doesNotMatch(e.message, /tunnel|s3cret/);
      return true;
    });
  } finally {
    await p.close();
  }
});

test('a malformed answer to the CONNECT probe: ProxyTunnelError', async () => {
  const p = await scriptedProxy((_h, socket) => socket.write('HTTP/1.1 407 No\r\nContent-Length : 3\r\n\r\n'));
  try {
    await assert.rejects(probeProxy(parseProxyUrl(p.url, 'HTTPS_PROXY'), new URL('https://origin.test/'), { timeout: 5000 }), (e: unknown) => {
      assert.ok(e instanceof ProxyTunnelError, String(e));
      assert.match(e.message, /did not open a tunnel to origin\.test:443: .*white space between the field name/);
      return true;
    });
  } finally {
    await p.close();
  }
});

test('a silent proxy: ProxyTimeoutError with the phase of what was asked', async () => {
  const p = await scriptedProxy(() => undefined);
  try {
    for (const [url, phase] of [['http://origin.test/', 'response'], ['https://origin.test/', 'connect-response']] as const) {
      await assert.rejects(probeProxy(parseProxyUrl(p.url, 'HTTP_PROXY'), new URL(url), { timeout: 300 }), (e: unknown) => {
        assert.ok(e instanceof ProxyTimeoutError, String(e));
        assert.equal(e.phase, phase);
        return true;
      });
    }
  } finally {
    await p.close();
  }
});
