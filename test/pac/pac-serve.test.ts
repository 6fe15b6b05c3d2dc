import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EchoReply } from '../../lab/origin.js';
import { freePort } from '../../lab/processes.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';
import { curl, labEnv, SERVE_READY, startCli } from '../cli/helpers.js';

const ctx = useLab();


test('serve with only JAATO_PAC_URL: curl gets the PAC\'s choice with Kerberos, past a dead first proxy, for http and https', async () => {
  const lab = ctx.lab;
  const dead = await freePort();
  const squid = new URL(lab.proxies.negotiate).port;
  lab.origins.http.mount('/serve.pac', (req, res) => {
    req.resume();
    res.writeHead(200).end(`function FindProxyForURL(url, host) {
      if (host === 'localhost') return 'DIRECT';
      return 'PROXY 127.0.0.1:${dead}; PROXY localhost:${squid}';
    }`);
  });
  const ca = join(lab.dir, 'pac-serve-ca.pem');
  writeFileSync(ca, lab.ca);
  const env = { ...labEnv(lab), HTTPS_PROXY: '', HTTP_PROXY: '', JAATO_PAC_URL: `${lab.origins.http.url}/serve.pac` };
  const { child, match, output } = await startCli(['serve', '--port', '0'], env, /listening on (http:\/\/127\.0\.0\.1:\d+) \(upstream: PAC http:\/\/127\.0\.0\.1:\d+\/serve\.pac\)/);
  const local = (SERVE_READY.exec(output()) as RegExpExecArray)[1] as string; // with serve's client credential
  try {
    const from = await quietLogLength(lab);
    const tls = await curl(['-x', local, '--cacert', ca, `${lab.origins.https.url}/pac-serve-tls`]);
    assert.equal(tls.code, 0, tls.stderr);
    assert.equal((JSON.parse(tls.stdout) as EchoReply).tls, true);
    const plain = await curl(['-x', local, `${lab.origins.http.url}/pac-serve-plain`]);
    assert.match(String((JSON.parse(plain.stdout) as EchoReply).headers.via), /squid/);
    const direct = await curl(['-x', local, `${lab.origins.http.url.replace('127.0.0.1', 'localhost')}/pac-serve-direct`]);
    assert.doesNotMatch(String((JSON.parse(direct.stdout) as EchoReply).headers.via), /squid/, 'DIRECT: not through Squid');
    // serve's own log names the route the PAC chose, not the (empty) proxy variables'.
    const wanted = [/ GET 127\.0\.0\.1:\d+ proxy 200 /, / GET localhost:\d+ direct 200 /, / CONNECT 127\.0\.0\.1:\d+ proxy 200 /];
    for (const deadline = Date.now() + 3000; !wanted.every((w) => w.test(output())) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    for (const w of wanted) assert.match(output(), w);
    const log = await logSince(lab, from, 2);
    assert.deepEqual(log.map((e) => [e.method, e.status, e.user]).sort(), [['CONNECT', 200, lab.principal], ['GET', 200, lab.principal]]);
  } finally {
    child.kill('SIGKILL');
  }
});
