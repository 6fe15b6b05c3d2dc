import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFetch } from '../../src/index.js';
import type { EchoReply } from '../../lab/origin.js';
import { useLab } from '../helpers/lab.js';

const ctx = useLab();

test('createFetch accepts a built-in Request (as ky and axios\' fetch adapter pass one)', async () => {
  const lab = ctx.lab;
  const f = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca });
  try {
    const res = await f(new Request(`${lab.origins.https.url}/req`, { method: 'POST', body: 'seven b', headers: { 'x-from': 'request' } }));
    const echo = (await res.json()) as EchoReply;
    assert.deepEqual([echo.method, echo.url, echo.bodyBytes, echo.headers['x-from']], ['POST', '/req', 7, 'request']);
  } finally {
    await f.dispatcher.close();
  }
});

test('a changed environment is picked up on the next request, without a new client', async () => {
  const lab = ctx.lab;
  const saved = { ...process.env };
  const f = createFetch({ ca: lab.ca }); // no routing options: the environment decides, per request
  const via = async (): Promise<string | undefined> => ((await (await f(`${lab.origins.http.url}/env`)).json()) as EchoReply).headers.via as string | undefined;
  try {
    delete process.env.HTTP_PROXY;
    delete process.env.http_proxy;
    process.env.JAATO_KERBEROS_PROXY = 'true';
    assert.equal(await via(), undefined, 'no proxy variable: direct');
    process.env.HTTP_PROXY = lab.proxies.negotiate;
    assert.match(String(await via()), /squid/, 'HTTP_PROXY set: through Squid');
    process.env.JAATO_NO_PROXY = '127.0.0.1';
    assert.equal(await via(), undefined, 'JAATO_NO_PROXY added: direct again');
  } finally {
    for (const k of ['HTTP_PROXY', 'JAATO_NO_PROXY', 'JAATO_KERBEROS_PROXY']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await f.dispatcher.close();
  }
});
