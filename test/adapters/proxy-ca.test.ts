import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { createSecureContext, rootCertificates } from 'node:tls';
import { createAgents, createFetch, getAgent, InvalidOptionError, ProxyConnectionError, ProxyDispatcher, unwrapError } from '../../src/index.js';
import type { EchoReply } from '../../lab/origin.js';
import { useLab } from '../helpers/lab.js';
import { tlsFrontForSquid } from '../helpers/tls-front.js';
import { ROOT } from '../cli/helpers.js';

// proxyCa: the CA of an https:// proxy, added to Node's trust (as `ca` is for origins), where
// proxyTls.ca replaces it. The proxy is a TLS front (the lab CA's localhost certificate) for Squid.
describe('proxyCa', () => {
  const ctx = useLab();
  let front: { url: string; close(): void };
  let proxy = '';
  // A real root that did not sign the lab's certificates.
  const unrelated = rootCertificates[0] as string;

  before(async () => {
    const lab = ctx.lab;
    front = await tlsFrontForSquid(lab);
    proxy = front.url;
  });
  after(() => front.close());

  const base = (): { proxy: string; kerberos: true; env: Record<string, never>; ca: string } => ({ proxy, kerberos: true, env: {}, ca: ctx.lab.ca });

  async function status(options: ConstructorParameters<typeof ProxyDispatcher>[0], url: string): Promise<number | Error> {
    const f = createFetch(options);
    try {
      const res = await f(url);
      await res.arrayBuffer();
      return res.status;
    } catch (error) {
      return unwrapError(error) as Error;
    } finally {
      await f.dispatcher.destroy();
    }
  }

  test('trusts the proxy, for tunnels and forwarded requests; without it the proxy\'s certificate fails', async () => {
    const lab = ctx.lab;
    assert.equal(await status({ ...base(), proxyCa: lab.ca }, `${lab.origins.https.url}/t`), 200);
    assert.equal(await status({ ...base(), proxyCa: [lab.ca] }, `${lab.origins.http.url}/f`), 200);
    const without = await status(base(), `${lab.origins.https.url}/t`);
    assert.ok(without instanceof ProxyConnectionError, String(without));
    const agents = createAgents({ ...base(), proxyCa: lab.ca });
    try {
      const url = `${lab.origins.https.url}/agent`;
      const reply = await new Promise<EchoReply>((resolve, reject) => {
        get(url, { agent: getAgent(url, agents) }, (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c.toString()));
          res.on('end', () => resolve(JSON.parse(b) as EchoReply));
        }).on('error', reject);
      });
      assert.equal(reply.url, '/agent');
    } finally {
      agents.https.destroy();
      agents.http.destroy();
    }
  });

  test('adds to proxyTls.ca (which alone replaces the defaults), and refuses proxyTls.secureContext', async () => {
    const lab = ctx.lab;
    const url = `${lab.origins.https.url}/t`;
    assert.ok((await status({ ...base(), proxyTls: { ca: unrelated } }, url)) instanceof ProxyConnectionError, 'proxyTls.ca alone: only that CA');
    assert.equal(await status({ ...base(), proxyTls: { ca: unrelated }, proxyCa: lab.ca }, url), 200);
    assert.equal(await status({ ...base(), proxyTls: { servername: 'localhost' }, proxyCa: lab.ca }, url), 200, 'with other proxyTls settings');
    assert.throws(
      () => new ProxyDispatcher({ ...base(), proxyCa: lab.ca, proxyTls: { secureContext: createSecureContext({}) } }),
      (e: unknown) => e instanceof InvalidOptionError && /proxyCa: cannot be combined with proxyTls\.secureContext/.test(e.message),
    );
  });

  test('keeps Node\'s default trust: with the proxy\'s CA in NODE_EXTRA_CA_CERTS, an unrelated proxyCa still connects', async () => {
    const lab = ctx.lab;
    const extra = join(lab.dir, 'extra-ca.pem');
    writeFileSync(extra, lab.ca);
    const script = `
      const { createFetch } = await import(${JSON.stringify(`${ROOT}dist/index.js`)});
      const run = async (options) => {
        const f = createFetch({ proxy: ${JSON.stringify(proxy)}, kerberos: true, env: {}, ca: ${JSON.stringify(lab.ca)}, ...options });
        try { return (await f(${JSON.stringify(`${lab.origins.https.url}/extra`)})).status; }
        catch (e) { return e.cause?.code ?? e.message; }
        finally { await f.dispatcher.destroy(); }
      };
      console.log(JSON.stringify([await run({ proxyCa: ${JSON.stringify(unrelated)} }), await run({ proxyTls: { ca: ${JSON.stringify(unrelated)} } })]));`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...lab.env, NODE_EXTRA_CA_CERTS: extra } }, (error, stdout, stderr) =>
        error ? reject(new Error(stderr || error.message)) : resolve(stdout),
      );
    });
    assert.deepEqual(JSON.parse(out), [200, 'ERR_JAATO_PROXY_CONNECT'], 'proxyCa adds to NODE_EXTRA_CA_CERTS; proxyTls.ca replaces it');
  });
});
