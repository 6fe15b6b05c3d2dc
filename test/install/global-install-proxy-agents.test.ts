import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { install, uninstall } from '../../src/index.js';
import { logSince, quietLogLength, servePac, useLab } from '../helpers/lab.js';

/**
 * install(): a request on a client's own proxy agent (the https-proxy-agent / http-proxy-agent Azure's
 * pipeline builds from HTTPS_PROXY, the very copies it loads) takes our route when the agent's proxy is
 * the one our configuration chooses for the request, and is kept otherwise.
 */
const ctx = useLab();
const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // .test-build/test/install → project root
const azure = createRequire(join(ROOT, 'node_modules', '@typespec', 'ts-http-runtime', 'package.json'));
const { HttpsProxyAgent } = azure('https-proxy-agent') as { HttpsProxyAgent: new (proxy: string) => https.Agent & { proxy: URL } };
const { HttpProxyAgent } = azure('http-proxy-agent') as { HttpProxyAgent: new (proxy: string) => http.Agent & { proxy: URL } };

function get(url: string, agent: http.Agent, ca: string): Promise<number> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    mod
      .get(url, { agent, ca }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

test("install(): a proxy agent to the proxy the configuration chooses takes our route (Negotiate); one to another proxy, or with credentials of its own, is kept", async () => {
  const lab = ctx.lab;
  const env = { HTTPS_PROXY: lab.proxies.negotiate, HTTP_PROXY: lab.proxies.negotiate, NO_PROXY: '', JAATO_KERBEROS_PROXY: 'true' };
  const same = new HttpsProxyAgent(lab.proxies.negotiate);
  const sameHttp = new HttpProxyAgent(lab.proxies.negotiate);
  const basic = new URL(lab.proxies.basic);
  basic.username = lab.basic.username;
  basic.password = lab.basic.password;
  const other = new HttpsProxyAgent(basic.href);
  const ownCredentials = new URL(lab.proxies.negotiate);
  ownCredentials.username = 'someone';
  ownCredentials.password = 'else';
  const withCredentials = new HttpsProxyAgent(ownCredentials.href);
  const agents = [same, sameHttp, other, withCredentials];
  install({ ca: lab.ca, env });
  try {
    const from = await quietLogLength(lab);
    assert.equal(await get(`${lab.origins.https.url}/pa-same`, same, lab.ca), 200);
    assert.equal(await get(`${lab.origins.http.url}/pa-same-http`, sameHttp, lab.ca), 200);
    assert.equal(await get(`${lab.origins.https.url}/pa-other`, other, lab.ca), 200, 'the Basic Squid, by the agent itself');
    await get(`${lab.origins.https.url}/pa-credentials`, withCredentials, lab.ca).catch(() => 0); // its 407, its business
    await uninstall(); // closes our tunnels, so Squid logs them
    for (const a of agents) a.destroy();
    const log = await logSince(lab, from, 4);
    const seen = log.map((e) => [e.port, e.method, e.status, e.user]);
    const negotiate = Number(new URL(lab.proxies.negotiate).port);
    assert.deepEqual(
      seen.filter(([port]) => port === negotiate).sort(),
      [
        [negotiate, 'CONNECT', 200, lab.principal],
        [negotiate, 'CONNECT', 407, '-'],
        [negotiate, 'GET', 200, lab.principal],
      ].sort(),
      `same proxy: ours (as the lab user); own credentials: kept (407): ${JSON.stringify(seen)}`,
    );
    assert.deepEqual(
      seen.filter(([port]) => port === Number(basic.port)),
      [[Number(basic.port), 'CONNECT', 200, lab.basic.username]],
      'another proxy: kept, sent by the agent itself with its Basic credentials',
    );
  } finally {
    for (const a of agents) a.destroy();
    await uninstall();
  }
});

test('install() with a PAC: a proxy agent, even to the proxy the variables name, is kept (the PAC answers after the request is made)', async () => {
  const lab = ctx.lab;
  const negotiate = new URL(lab.proxies.negotiate);
  const pac = servePac(lab, `function FindProxyForURL(url, host) { return 'PROXY localhost:${negotiate.port}'; }`);
  const env = { HTTPS_PROXY: lab.proxies.negotiate, NO_PROXY: '', JAATO_KERBEROS_PROXY: 'true', JAATO_PAC_URL: pac };
  const same = new HttpsProxyAgent(lab.proxies.negotiate);
  install({ ca: lab.ca, env });
  try {
    const from = await quietLogLength(lab);
    const status = await get(`${lab.origins.https.url}/pa-pac`, same, lab.ca).catch(() => 0);
    assert.notEqual(status, 200, 'the agent sent its own CONNECT and met the 407');
    const log = await logSince(lab, from, 1);
    assert.deepEqual(log.map((e) => [e.method, e.status, e.user]), [['CONNECT', 407, '-']]);
  } finally {
    same.destroy();
    await uninstall();
  }
});
