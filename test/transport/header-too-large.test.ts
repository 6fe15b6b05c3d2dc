// A proxy that refuses the size of a request carrying our Negotiate token (a large AD ticket: the
// account's groups in its PAC) is a typed error naming the header's size, the cause and the proxy-side
// remedy, on CONNECT and on forwarded requests, for fetch and the node agents; doctor never counts it
// as accepted. Against the real lab: its Squid with a `request_header_max_size` below the lab's token,
// so a real token exceeds it (an AD user in ~3,000 groups does the same to Squid's default 64 KB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { createAgents, createFetch, JaatoProxyError, ProxyHeaderTooLargeError, unwrapError } from '../../src/index.js';
import { LARGE_AUTH_HEADER, refusedForSize, VERY_LARGE_AUTH_HEADER } from '../../src/auth/auth-decision.js';
import { tokenSizeCheck } from '../../src/diagnostics/advice.js';
import { useLab } from '../helpers/lab.js';
import { doctorJson, doctorLine, labEnv } from '../cli/helpers.js';

// Above any unauthenticated request the clients send (~200 bytes), below the lab's Negotiate header (~1 KB+).
const LIMIT = 600;
const ctx = useLab({ squidHeaderLimit: LIMIT });

test('which answers refuse the size of a head that carried our token', () => {
  const big = LARGE_AUTH_HEADER + 1;
  const rows: ReadonlyArray<[number, 'negotiate' | 'basic' | 'none', number, boolean, boolean]> = [
    [431, 'negotiate', 900, true, true], // 431 names the head's size, whatever our share of it
    [431, 'negotiate', 900, false, true],
    [494, 'negotiate', 900, true, true], // nginx's "Request Header Too Large"
    [431, 'basic', 60, true, false], // not our token's doing
    [431, 'none', 0, true, false],
    [400, 'negotiate', 900, true, false], // a small token: the 400 is the request's or the target's
    [400, 'negotiate', big, true, true], // Squid: any field over 64 KB is a 400; Apache past 8190
    [400, 'negotiate', big, false, false], // a forwarded 400 Squid did not mark: the origin's, for the caller
    [413, 'negotiate', big, true, true],
    [413, 'negotiate', LARGE_AUTH_HEADER, true, false],
    [403, 'negotiate', 70_000, true, false], // a refused target stays a refused target
    [502, 'negotiate', 70_000, true, false],
  ];
  for (const [status, sent, bytes, own, expected] of rows) assert.equal(refusedForSize(status, sent, bytes, own), expected, `${status} ${sent} ${bytes} ${own}`);
});

test("doctor's token size line warns past 8 KB and 16 KB of header", () => {
  // Raw token sizes measured against Samba AD (notes): none, 700, 1,400 groups.
  assert.equal(tokenSizeCheck(1_433).status, 'ok');
  const apache = tokenSizeCheck(7_025);
  assert.equal(apache.status, 'warn');
  assert.match(apache.detail, /^a 9399-byte Proxy-Authorization header, over 8 KB: Apache/);
  const iis = tokenSizeCheck(12_625);
  assert.equal(iis.status, 'warn');
  assert.match(iis.detail, /^a 16867-byte Proxy-Authorization header, over 16 KB/);
  assert.match(iis.remedy ?? '', /request_header_max_size.*LimitRequestFieldSize/);
  assert.ok(16_867 > VERY_LARGE_AUTH_HEADER);
});

function assertTooLarge(error: unknown, what: RegExp): void {
  const e = unwrapError(error);
  assert.ok(e instanceof ProxyHeaderTooLargeError, `${String(e)} (${(e as JaatoProxyError).code})`);
  assert.equal(e.code, 'ERR_JAATO_PROXY_HEADER_TOO_LARGE');
  assert.equal(e.statusCode, 431);
  assert.ok(e.headerBytes > LIMIT, String(e.headerBytes));
  assert.match(e.message, what);
  assert.match(e.message, new RegExp(`431 Request Header Fields Too Large\\): it carried a ${e.headerBytes}-byte`));
  assert.match(e.message, /group memberships/);
  assert.match(e.message, /Squid `request_header_max_size`.*Apache `LimitRequestFieldSize`/);
  assert.doesNotMatch(e.message, /Negotiate [A-Za-z0-9+/]{20}/, 'never the token');
}

test('fetch: a 431 to the CONNECT or to the forwarded request that carried the token is ProxyHeaderTooLargeError', async () => {
  const lab = ctx.lab;
  const f = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca });
  try {
    await assert.rejects(f(`${lab.origins.https.url}/big`), (e) => (assertTooLarge(e, /refused CONNECT 127\.0\.0\.1:\d+ for its size/), true));
    await assert.rejects(f(`${lab.origins.http.url}/big`), (e) => (assertTooLarge(e, /refused GET http:\/\/127\.0\.0\.1:\d+ for its size/), true));
  } finally {
    await f.dispatcher.close();
  }
  // Squid refused them before authenticating anyone.
  const refused = lab.accessLog().filter((l) => l.url.includes('/big') || l.method === 'CONNECT');
  assert.ok(refused.every((l) => l.user === '-'), JSON.stringify(refused));
});

function get(mod: typeof http | typeof https, url: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    mod.get(url, { agent }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

test('node agents: the same typed error on CONNECT (https.get) and forwarded (http.get)', async () => {
  const lab = ctx.lab;
  const agents = createAgents({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca });
  try {
    await assert.rejects(get(https, `${lab.origins.https.url}/big-agent`, agents.https), (e) => (assertTooLarge(e, /refused CONNECT/), true));
    await assert.rejects(get(http, `${lab.origins.http.url}/big-agent`, agents.http), (e) => (assertTooLarge(e, /refused GET http:/), true));
  } finally {
    agents.http.destroy();
    agents.https.destroy();
  }
});

test('doctor: the refusal fails its lines with the code and the remedy, never "accepted", for an https and an http URL', async () => {
  const lab = ctx.lab;
  for (const url of [`${lab.origins.https.url}/`, `${lab.origins.http.url}/`]) {
    const { code, report } = await doctorJson(labEnv(lab), [url, '--cacert', `${lab.dir}/ca.pem`]);
    assert.notEqual(code, 0, url);
    // An https URL: the CONNECT of the proxy auth line; an http URL: the forwarded HEADs of the auth mode line.
    const line = doctorLine(report, url.startsWith('https:') ? 'proxy auth' : 'auth mode');
    assert.equal(line.status, 'fail', JSON.stringify(line));
    assert.doesNotMatch(line.detail, /accepted/);
    assert.match(line.detail, /\[ERR_JAATO_PROXY_HEADER_TOO_LARGE\]$/);
    assert.match(line.remedy ?? '', /^the Negotiate header \(\d+ bytes\) grows with/);
    assert.match(line.remedy ?? '', /request_header_max_size.*LimitRequestFieldSize.*group memberships/);
    assert.notEqual(report.proxies[0]?.authenticated, true, url);
    assert.equal(report.checks.some((c) => c.name === 'reply token'), false, 'no verdict on a reply token to a refused head');
    assert.equal(doctorLine(report, 'token size').status, 'ok'); // the lab's ticket has no PAC: small
    assert.match(doctorLine(report, 'fetch').detail, /ERR_JAATO_PROXY_HEADER_TOO_LARGE/);
  }
});
