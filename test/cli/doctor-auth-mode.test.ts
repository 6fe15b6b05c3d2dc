// doctor's `auth mode` and `reply token` lines against both of the lab's proxy families: Squid
// (authenticates a connection, never sends a reply token) and Apache mod_auth_gssapi (authenticates
// every request, sends a reply token on forwarded http answers, none on CONNECT); and a scripted proxy
// that forges the reply token (the tokens it is sent are the lab KDC's, real).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useLab } from '../helpers/lab.js';
import { scriptedProxy, type ScriptedProxy } from '../helpers/scripted-proxy.js';
import { doctorJson as doctor, doctorLine as line, failedLines as failed, labEnv, runCli, type DoctorJson } from './helpers.js';

const ctx = useLab();

/** The lab CA in a file, for --cacert (the https origin's certificate). */
function cacert(): string {
  const file = join(ctx.lab.dir, 'doctor-auth-mode-ca.pem');
  writeFileSync(file, ctx.lab.ca);
  return file;
}

const facts = (report: DoctorJson): unknown[] => report.proxies.map((p) => [p.authMode, p.connectReplyToken, p.forwardedReplyToken]);

const FORGED = Buffer.from('a reply token no KDC made').toString('base64');
let forger: ScriptedProxy;
before(async () => {
  // Challenges every request without a token (per request); takes any Negotiate token and answers with a forged reply token, on CONNECT and forwarded alike.
  forger = await scriptedProxy((head, socket) => {
    if (!/^proxy-authorization: Negotiate /im.test(head)) return void socket.write('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n');
    if (head.startsWith('CONNECT ')) return void socket.write(`HTTP/1.1 200 Connection established\r\nProxy-Authenticate: Negotiate ${FORGED}\r\n\r\n`);
    socket.write(`HTTP/1.1 200 OK\r\nProxy-Authenticate: Negotiate ${FORGED}\r\nContent-Length: 2\r\n\r\n${head.startsWith('HEAD ') ? '' : 'ok'}`);
  });
});
after(() => forger.close());

test('doctor <http url> through Squid: per connection, no reply token, both ✓ (information), exit 0', async () => {
  const lab = ctx.lab;
  const r = await runCli(['doctor', `${lab.origins.http.url}/mode`], labEnv(lab));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /✓ auth mode {8}per connection \(as Squid\): a second request on the kept-alive connection passed without a token; jaato-proxy handles both/);
  assert.match(r.stdout, /✓ reply token {6}no Negotiate reply token on the forwarded answer: the proxy does not prove itself there/);
  const { code, report } = await doctor(labEnv(lab), [`${lab.origins.http.url}/mode`]);
  assert.equal(code, 0);
  assert.deepEqual(facts(report), [['connection', null, 'none']]);
});

test('doctor through Squid with --require-mutual-auth: ✗ reply token and ✗ fetch on http and https, "Squid never sends one", exit 1', async () => {
  const lab = ctx.lab;
  const http = await doctor(labEnv(lab), ['--require-mutual-auth', `${lab.origins.http.url}/m`]);
  assert.equal(http.code, 1);
  assert.deepEqual(failed(http.report), ['reply token', 'fetch']);
  for (const name of ['reply token', 'fetch']) assert.match(line(http.report, name).remedy ?? '', /no reply token on forwarded requests \(Squid never sends one\).*turn requireMutualAuth off \(drop --require-mutual-auth\)/, name);
  assert.match(line(http.report, 'fetch').detail, /ERR_JAATO_PROXY_MUTUAL_AUTH/);

  const https = await doctor(labEnv(lab), ['--require-mutual-auth', '--cacert', cacert(), `${lab.origins.https.url}/m`]);
  assert.equal(https.code, 1, JSON.stringify(https.report.checks, null, 1));
  assert.deepEqual(facts(https.report), [[null, 'none', null]]);
  assert.equal(line(https.report, 'proxy auth').status, 'ok'); // the credentials were taken
  assert.deepEqual(failed(https.report), ['reply token', 'fetch']);
  assert.match(line(https.report, 'reply token').detail, /^no Negotiate reply token on the CONNECT answer, and requireMutualAuth is set$/);
  assert.match(line(https.report, 'reply token').remedy ?? '', /no reply token on CONNECT \(Squid never sends one;.*every https:\/wss: request through it fails/);
});

test('doctor <http url> through Apache: per request, a reply token that verifies; with --require-mutual-auth still exit 0', async () => {
  const lab = ctx.lab;
  const env = labEnv(lab, { HTTPS_PROXY: lab.proxies.perRequest, HTTP_PROXY: lab.proxies.perRequest });
  const r = await runCli(['doctor', `${lab.origins.http.url}/apache`], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /✓ auth mode {8}per request \(as Apache mod_auth_gssapi\): a second request on the kept-alive connection was challenged again; jaato-proxy handles both/);
  assert.match(r.stdout, /✓ reply token {6}the proxy's Negotiate reply token on the forwarded answer verified/);
  const strict = await doctor(env, ['--require-mutual-auth', `${lab.origins.http.url}/apache`]);
  assert.equal(strict.code, 0, JSON.stringify(strict.report.checks, null, 1));
  assert.deepEqual(facts(strict.report), [['request', null, 'verified']]);
});

test('doctor without a URL through Apache: the stand-in HEADs to http://example.com/ show the mode, or say honestly why not, exit 0', async () => {
  const lab = ctx.lab;
  const { code, report } = await doctor(labEnv(lab, { HTTPS_PROXY: lab.proxies.perRequest, HTTP_PROXY: lab.proxies.perRequest }), []);
  assert.equal(code, 0, JSON.stringify(report.checks, null, 1));
  const mode = line(report, 'auth mode');
  // Apache closes the connection after an error answer (its 502 where example.com is out of reach): then the mode is not seen.
  if (report.proxies[0]?.authMode === null) {
    assert.equal(mode.status, 'skip');
    assert.match(mode.detail, /^not seen: the proxy closed the connection after its 5\d\d [^,]+ answer, so no second request could go on it$/);
  } else {
    assert.equal(report.proxies[0]?.authMode, 'request');
    assert.match(mode.detail, /^per request \(as Apache mod_auth_gssapi\)/);
  }
  assert.equal(report.proxies[0]?.forwardedReplyToken, 'verified');
});

test('doctor <https url> through Apache: no reply token on CONNECT; with --require-mutual-auth ✗ with "https needs it off", exit 1', async () => {
  const lab = ctx.lab;
  const env = labEnv(lab, { HTTPS_PROXY: lab.proxies.perRequest, HTTP_PROXY: lab.proxies.perRequest});
  const plain = await doctor(env, ['--cacert', cacert(), `${lab.origins.https.url}/apache`]);
  assert.equal(plain.code, 0, JSON.stringify(plain.report.checks, null, 1));
  assert.deepEqual(facts(plain.report), [[null, 'none', null]]);
  assert.equal(line(plain.report, 'reply token').status, 'ok');
  assert.equal(line(plain.report, 'auth mode').status, 'skip');
  assert.match(line(plain.report, 'auth mode').detail, /^not seen: a CONNECT tunnel is authenticated once; how the proxy treats forwarded requests shows with an http: URL/);
  const strict = await doctor(env, ['--require-mutual-auth', '--cacert', cacert(), `${lab.origins.https.url}/apache`]);
  assert.equal(strict.code, 1);
  assert.deepEqual(failed(strict.report), ['reply token', 'fetch']);
  assert.match(line(strict.report, 'reply token').remedy ?? '', /Apache mod_auth_gssapi sends one on forwarded http: answers only\), so every https:\/wss: request through it fails with requireMutualAuth/);
});

test('doctor through a proxy that forges its reply token: ✗ reply token with the keytab / man-in-the-middle remedy, on http and on CONNECT, exit 1', async () => {
  const lab = ctx.lab;
  const env = labEnv(lab, { HTTPS_PROXY: forger.url, HTTP_PROXY: forger.url });
  const r = await runCli(['doctor', 'http://example.com/forged'], env);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /✗ reply token {6}the proxy's Negotiate reply token on the forwarded answer did not verify \[ERR_JAATO_PROXY_MUTUAL_AUTH\]\n.*→ the proxy's reply token does not verify against HTTP@localhost: either the proxy does not hold the key of that principal.*a man in the middle/);
  const http = await doctor(env, ['http://example.com/forged']);
  assert.deepEqual(facts(http.report), [['request', null, 'bad']]); // it challenges every request without a token
  assert.deepEqual(failed(http.report), ['reply token', 'fetch']);
  assert.match(line(http.report, 'fetch').remedy ?? '', /a man in the middle/);

  const tunnel = await doctor(env, ['https://example.com/forged']);
  assert.equal(tunnel.code, 1);
  assert.deepEqual(facts(tunnel.report), [[null, 'bad', null]]);
  assert.equal(line(tunnel.report, 'proxy auth').status, 'ok');
  assert.deepEqual(failed(tunnel.report), ['reply token', 'fetch']);
  assert.match(line(tunnel.report, 'reply token').detail, /on the CONNECT answer did not verify/);
});
