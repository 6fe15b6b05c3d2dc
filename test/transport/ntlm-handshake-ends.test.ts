// An NTLM handshake cut between its NEGOTIATE and CHALLENGE messages (the proxy resets the connection)
// ends its ntlm_auth process with the exchange, on every path: a CONNECT (openTunnel), a forwarded
// request through fetch (undici) and through the node agents. Before, the helper waited for garbage
// collection (found in review). A scripted proxy: the lab's Squid never resets mid-handshake.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { createAgents, createFetch } from '../../src/index.js';
import { ProxyConfig, type ProxyRoute } from '../../src/config/proxy-config.js';
import { openTunnel } from '../../src/transport/tunnel.js';
import { children, noChildrenLeft } from '../helpers/children.js';
import { debugChannel } from '../../src/debug.js';
import { scriptedProxy, type ScriptedProxy } from '../helpers/scripted-proxy.js';

let proxy: ScriptedProxy;
let negotiates = 0;

before(async () => {
  if (!existsSync('/usr/bin/ntlm_auth')) throw new Error("Samba's ntlm_auth is missing (/usr/bin/ntlm_auth): install the Debian package winbind (scripts/setup.sh does)");
  proxy = await scriptedProxy((head, socket) => {
    if (!/^proxy-authorization: NTLM /im.test(head)) {
      socket.write('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      socket.end();
      return;
    }
    negotiates++;
    socket.resetAndDestroy(); // the NEGOTIATE message reached the proxy; its CHALLENGE never comes
  });
});
after(async () => proxy?.close());

const env = (): Record<string, string> => ({ HTTPS_PROXY: proxy.url.replace('//', '//ADJAATO%5Cbob:pw@'), HTTP_PROXY: proxy.url.replace('//', '//ADJAATO%5Cbob:pw@'), JAATO_PROXY_AUTH: 'ntlm', PATH: process.env.PATH ?? '' });

async function cutHandshake(what: string, run: () => Promise<unknown>): Promise<void> {
  const before = negotiates;
  const lines: string[] = [];
  const listen = (m: unknown): void => void lines.push((m as { message: string }).message);
  debugChannel.subscribe(listen);
  try {
    await assert.rejects(run(), what);
  } finally {
    debugChannel.unsubscribe(listen);
  }
  const cut = negotiates - before;
  assert.ok(cut > 0, `${what}: the NEGOTIATE message reached the proxy`);
  // Each cut handshake released by the exchange itself, not left to garbage collection (which kills a forgotten helper too, later).
  assert.equal(lines.filter((l) => /^NTLM: handshake for origin\.example|^NTLM: handshake for localhost ended before its CHALLENGE/.test(l)).length, cut, lines.join('\n'));
  await noChildrenLeft(`${what}, after the proxy reset the connection mid-handshake`);
}

test('a CONNECT whose NTLM handshake is cut after NEGOTIATE: the request fails typed, and no ntlm_auth is left', async () => {
  const route = new ProxyConfig({ env: env() }).route('https://origin.example/');
  await cutHandshake('openTunnel', () => openTunnel(route as ProxyRoute, 'origin.example', 443, { timeout: 5_000 }));
});

test('forwarded http: through fetch and through the node agents, the cut handshake leaves no ntlm_auth', async () => {
  const fetch = createFetch({ env: env() });
  await cutHandshake('fetch http:', () => fetch('http://origin.example/cut'));
  const agents = createAgents({ env: env() });
  try {
    await cutHandshake('node:http', () => new Promise((resolve, reject) => {
      const req = request('http://origin.example/cut', { agent: agents.http }, resolve);
      req.on('error', reject);
      req.end();
    }));
  } finally {
    agents.http.destroy();
    agents.https.destroy();
  }
  assert.deepEqual(children(), []);
});
