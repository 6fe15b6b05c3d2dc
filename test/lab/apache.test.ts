import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { get } from 'node:http';
import WebSocket from 'ws';
import { createAgents } from '../../src/index.js';
import { run } from '../../lab/processes.js';
import type { Lab } from '../../lab/lab.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';

const ctx = useLab();

/** curl with the lab's Kerberos environment; `-w` output and `-D -` headers come back on stdout. */
function curl(lab: Lab, args: readonly string[]): Promise<string> {
  return run('curl', ['-s', ...args], { env: { ...process.env, ...lab.env } });
}

const apacheLog = (lab: Lab): ReturnType<Lab['perRequestLog']> => lab.perRequestLog();
const apacheLogSince = (lab: Lab, from: number, min: number): ReturnType<typeof logSince> => logSince(lab, from, min, apacheLog);

/**
 * Sends a raw request that says `Connection: close` and returns everything the proxy answered before it
 * closed the connection: the end of the answer is the close, not a pause in the bytes.
 */
function rawExchange(proxy: string, text: string): Promise<string> {
  assert.match(text, /\r\nConnection: close\r\n/i, 'the exchange ends when the proxy closes');
  const { hostname, port } = new URL(proxy);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname === 'localhost' ? '127.0.0.1' : hostname, port: Number(port) });
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('end', () => {
      socket.destroy();
      resolve(got);
    });
    socket.on('error', reject);
    socket.write(text);
  });
}

describe('lab: Apache httpd + mod_auth_gssapi, the per-request Negotiate proxy', () => {
  test('curl --proxy-negotiate gets through, and Apache logs the Kerberos user', async () => {
    const lab = ctx.lab;
    const from = await quietLogLength(lab, apacheLog); // settled: an earlier test's tunnel is logged when it closes
    const body = await curl(lab, ['--proxy-negotiate', '-U', ':', '-x', lab.proxies.perRequest, `${lab.origins.http.url}/apache-curl`]);
    assert.equal(JSON.parse(body).url, '/apache-curl');
    const tunnelled = await curl(lab, ['--proxy-negotiate', '-U', ':', '-x', lab.proxies.perRequest, '--cacert', `${lab.dir}/ca.pem`, `${lab.origins.https.url}/apache-tls`]);
    assert.equal(JSON.parse(tunnelled).tls, true);
    const log = await apacheLogSince(lab, from, 2);
    assert.deepEqual(
      log.map((e) => [e.method, e.status, e.user]),
      [
        ['GET', 200, lab.principal],
        ['CONNECT', 200, lab.principal],
      ],
    );
    assert.equal(log[0]?.url, `${lab.origins.http.url}/apache-curl`);
    assert.equal(log[0]?.port, Number(new URL(lab.proxies.perRequest).port));
  });

  test('per request: a second request on the same connection without a token gets 407', async () => {
    const lab = ctx.lab;
    const from = await quietLogLength(lab, apacheLog); // settled: an earlier test's tunnel is logged when it closes
    const p = lab.proxies.perRequest;
    // --next drops --proxy-negotiate for the second transfer; curl keeps the proxy connection.
    const out = await curl(lab, [
      ...['--proxy-negotiate', '-U', ':', '-x', p, '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\\n', `${lab.origins.http.url}/first`],
      '--next',
      ...['-x', p, '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\\n', `${lab.origins.http.url}/second`],
    ]);
    assert.equal(out, '200 1\n407 0\n', 'second transfer: 407, on the reused connection');
    const log = await apacheLogSince(lab, from, 2);
    assert.deepEqual(log.map((e) => [e.status, e.user]), [[200, lab.principal], [407, '-']]);
    assert.equal(log[0]?.clientPort, log[1]?.clientPort, 'one TCP connection');
  });

  test('a forwarded 200 carries a reply token; a CONNECT answer does not', async () => {
    const lab = ctx.lab;
    const forwarded = await curl(lab, ['--proxy-negotiate', '-U', ':', '-x', lab.proxies.perRequest, '-D', '-', '-o', '/dev/null', `${lab.origins.http.url}/reply-token`]);
    assert.match(forwarded, /^HTTP\/1\.1 200/);
    assert.match(forwarded, /^Via: 1\.1 jaato-lab-apache/m);
    assert.match(forwarded, /^Proxy-Authenticate: Negotiate [A-Za-z0-9+/=]{20,}\r$/m);
    const tunnel = await curl(lab, ['--proxy-negotiate', '-U', ':', '-x', lab.proxies.perRequest, '--cacert', `${lab.dir}/ca.pem`, '-D', '-', '-o', '/dev/null', `${lab.origins.https.url}/reply-token`]);
    const connectAnswer = tunnel.split('\r\n\r\n')[0] ?? '';
    assert.match(connectAnswer, /^HTTP\/1\.[01] 200/);
    assert.doesNotMatch(connectAnswer, /Proxy-Authenticate|Proxy-Authentication-Info/i);
  });

  test('a replayed token is refused', async () => {
    const lab = ctx.lab;
    const { token } = await mintToken();
    const head = (path: string): string =>
      `GET ${lab.origins.http.url}${path} HTTP/1.1\r\nHost: 127.0.0.1:${lab.origins.http.port}\r\nProxy-Authorization: Negotiate ${token}\r\nConnection: close\r\n\r\n`;
    assert.match(await rawExchange(lab.proxies.perRequest, head('/once')), /^HTTP\/1\.1 200 /);
    assert.match(await rawExchange(lab.proxies.perRequest, head('/replayed')), /^HTTP\/1\.1 407 /);
  });

  test('CONNECT reaches both lab origins (ws:// is tunnelled too), on both proxy families', async () => {
    const lab = ctx.lab;
    for (const proxy of [lab.proxies.perRequest, lab.proxies.negotiate]) {
      for (const origin of [lab.origins.http, lab.origins.https]) {
        const out = await curl(lab, ['--proxy-negotiate', '-U', ':', '-x', proxy, '-p', '-k', '-o', '/dev/null', '-w', '%{http_connect}', `${origin.url}/through-connect`]);
        assert.equal(out, '200', `${proxy} CONNECT to ${origin.url}`);
      }
    }
  });
});

/** One SPNEGO token for HTTP@localhost, made with the security library directly (not NegotiateContext). */
async function mintToken(): Promise<{ token: string }> {
  const { loadSecurityProvider } = await import('../../src/auth/native/load.js');
  const context = (await loadSecurityProvider()).initContext({ spn: 'HTTP@localhost', mutual: false });
  try {
    return { token: ((await context.step(undefined)).token as Buffer).toString('base64') };
  } finally {
    context.dispose();
  }
}

// Tests read the proxies' logs once nothing is in progress (helpers/lab.ts): activeRequests must count
// an open tunnel, not an idle kept-alive connection, and its own status pages must stay out of the logs.
test('lab.activeRequests: an open tunnel counts on its proxy, an idle kept-alive connection does not; the status pages are not logged', async () => {
  const lab = ctx.lab;
  assert.deepEqual(await lab.activeRequests(), { squid: 0, apache: 0 });
  const lines = [lab.accessLog().length, lab.perRequestLog().length];
  for (const [family, proxy] of [['squid', lab.proxies.negotiate], ['apache', lab.proxies.perRequest]] as const) {
    const agents = createAgents({ proxy, kerberos: true, env: {} });
    try {
      const status = await new Promise<number | undefined>((resolve, reject) =>
        get(`${lab.origins.http.url}/kept-alive`, { agent: agents.http }, (res) => res.resume().on('end', () => resolve(res.statusCode))).on('error', reject),
      );
      assert.equal(status, 200);
      // The answer is in; the proxy may take a moment to finish the request. The connection stays open.
      assert.ok(await becomesIdle(lab), `${family}: an idle kept-alive connection is no request`);
      const ws = new WebSocket(`${lab.origins.http.url.replace('http:', 'ws:')}/ws/active`, { agent: agents.http });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const open = await lab.activeRequests();
      assert.deepEqual(open, { squid: family === 'squid' ? 1 : 0, apache: family === 'apache' ? 1 : 0 }, `${family}: the open tunnel`);
      ws.close();
      await new Promise((resolve) => ws.once('close', resolve));
    } finally {
      agents.http.destroy();
    }
  }
  assert.ok(await becomesIdle(lab), 'no request once the tunnels have closed');
  const logged = [...lab.accessLog().slice(lines[0]), ...lab.perRequestLog().slice(lines[1])];
  assert.ok(logged.every((e) => !/squid-internal-mgr|jaato-lab-status/.test(e.url)), JSON.stringify(logged));
});

/** Polls lab.activeRequests() until both proxies serve nothing, for up to 10 s. */
async function becomesIdle(lab: Lab): Promise<boolean> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) {
    const now = await lab.activeRequests();
    if (now.squid === 0 && now.apache === 0) return true;
  }
  return false;
}
