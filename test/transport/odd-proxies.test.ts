// Replies the lab's Squid never gives, from a scripted proxy on loopback (a supplement to the real lab,
// whose KDC still makes every token): other proxies close after a 407, chunk its body, send a mutual-auth
// token in either header, or hang up mid-CONNECT. Each reading of the protocol is handled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTunnel } from '../../src/transport/tunnel.js';
import { parseProxyUrl } from '../../src/config/proxy-url.js';
import type { ProxyRoute } from '../../src/config/proxy-config.js';
import { ProxyMutualAuthError, ProxyTunnelError } from '../../src/transport/errors.js';
import { useLab } from '../helpers/lab.js';
import { scriptedProxy as startScripted, type Reply, type ScriptedProxy } from '../helpers/scripted-proxy.js';

useLab(); // real tickets: the tokens sent to the scripted proxy are real

/** A scripted proxy (test/helpers) and the Negotiate route to it that openTunnel takes. */
async function scriptedProxy(reply: Reply): Promise<ScriptedProxy & { route: ProxyRoute }> {
  const p = await startScripted(reply);
  return { ...p, route: { type: 'proxy', proxy: parseProxyUrl(p.url, 'test'), auth: 'negotiate', spn: 'HTTP@localhost', rule: 'test' } };
}

const authed = (head: string): boolean => /\r\nProxy-Authorization: Negotiate \S+/i.test(head);

test('407 with Connection: close: the next attempt goes on a new connection, with a fresh token', async () => {
  const p = await scriptedProxy((_head, socket) => {
    if (p.heads.length === 1) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nConnection: close\r\nContent-Length: 3\r\n\r\nno!');
    } else socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
  });
  try {
    const s = await openTunnel(p.route, 'origin.test', 443, { timeout: 2000 });
    s.destroy();
    assert.equal(p.connections(), 2);
    assert.equal(p.heads.length, 2);
    assert.ok(p.heads.every(authed));
    const token = (h: string): string | undefined => /Negotiate (\S+)/.exec(h)?.[1];
    assert.notEqual(token(p.heads[0] as string), token(p.heads[1] as string), 'never the same token twice');
  } finally {
    p.server.close();
  }
});

test('407 with a chunked body on a kept-alive connection: its body is not read, the retry goes on a new connection', async () => {
  const p = await scriptedProxy((_head, socket) => {
    if (p.heads.length === 1) {
      socket.write('HTTP/1.1 407 No\r\nProxy-Authenticate: Negotiate\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    } else socket.write('HTTP/1.1 200 OK\r\n\r\n');
  });
  try {
    (await openTunnel(p.route, 'origin.test', 443, { timeout: 2000 })).destroy();
    assert.equal(p.connections(), 2);
    assert.equal(p.heads.length, 2);
    assert.ok(p.heads.every(authed));
  } finally {
    p.server.close();
  }
});

test('a 407 whose body looks like a 200: the fake answer is never taken for the retry\'s', async () => {
  // Content-Length: 0, then bytes shaped like the next answer: a reader that frames the 407 and reuses
  // the connection reads them as the answer to the retry and "opens" a tunnel the proxy never opened.
  const p = await scriptedProxy((_head, socket, connection) => {
    if (connection === 1) socket.write('HTTP/1.1 407 No\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n');
    else socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
  });
  try {
    await assert.rejects(openTunnel(p.route, 'origin.test', 443, { timeout: 2000 }), (e: unknown) => {
      assert.ok(e instanceof ProxyTunnelError, String(e));
      assert.equal(e.statusCode, 403);
      return true;
    });
    assert.equal(p.connections(), 2);
  } finally {
    p.server.close();
  }
});

test('a 407 with Content-Length: abc fails at once with a typed error, not after the timeout', async () => {
  const p = await scriptedProxy((_h, socket) => socket.write('HTTP/1.1 407 No\r\nProxy-Authenticate: Negotiate\r\nContent-Length: abc\r\n\r\n'));
  try {
    const started = performance.now();
    await assert.rejects(openTunnel(p.route, 'origin.test', 443, { timeout: 10_000 }), (e: unknown) => {
      assert.ok(e instanceof ProxyTunnelError, String(e));
      assert.match(e.message, /did not open a tunnel to origin\.test:443: its answer is not valid HTTP\/1\.1: Content-Length "abc" is not a decimal length/);
      return true;
    });
    assert.ok(performance.now() - started < 2000, `${Math.round(performance.now() - started)} ms`);
    assert.equal(p.heads.length, 1, 'no retry of a malformed answer');
  } finally {
    p.server.close();
  }
});

test('100 Continue before the 200: skipped, and the tunnel opens with the bytes after it', async () => {
  const p = await scriptedProxy((_h, socket) => socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\nfirst tunnel bytes'));
  try {
    const s = await openTunnel(p.route, 'origin.test', 443, { timeout: 2000 });
    const data = await new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString())).resume());
    s.destroy();
    assert.equal(data, 'first tunnel bytes');
  } finally {
    p.server.close();
  }
});

for (const header of ['Proxy-Authenticate', 'Proxy-Authentication-Info']) {
  test(`a mutual-auth token that does not verify fails the tunnel (token in ${header})`, async () => {
    const p = await scriptedProxy((_h, socket) => socket.write(`HTTP/1.1 200 OK\r\n${header}: Negotiate oYGHMIGEoAMKAQChCwYJKoZIgvcSAQICooFvBG1gawYJKoZIhvcSAQICAgBvXDBaoAMCAQWhAwIBD6JOMEygAwIBEqJFBEPsIOWPBAR=\r\n\r\n`));
    try {
      await assert.rejects(openTunnel(p.route, 'origin.test', 443, { timeout: 2000 }), (e: unknown) => {
        assert.ok(e instanceof ProxyMutualAuthError);
        assert.equal(e.code, 'ERR_JAATO_PROXY_MUTUAL_AUTH');
        assert.equal(e.reason, 'bad-token');
        assert.match(e.message, /did not authenticate itself: its Negotiate reply token on its 200 answer to CONNECT origin.test:443 did not verify/);
        return true;
      });
    } finally {
      p.server.close();
    }
  });
}

test('a proxy that hangs up during CONNECT: typed error naming the proxy', async () => {
  const p = await scriptedProxy((_h, socket) => socket.destroy());
  try {
    await assert.rejects(openTunnel(p.route, 'origin.test', 443, { timeout: 2000 }), (e: unknown) => {
      assert.ok(e instanceof ProxyTunnelError);
      assert.match(e.message, /closed the connection without answering/);
      assert.match(e.message, /from test/);
      return true;
    });
  } finally {
    p.server.close();
  }
});
