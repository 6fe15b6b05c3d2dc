import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import http from 'node:http';
import { install, uninstall } from '../../src/index.js';
import type { EchoReply } from '../../lab/origin.js';
import { freePort } from '../../lab/processes.js';
import { PacEvaluationError } from '../../src/pac/errors.js';
import { CLIENT_FAMILIES, rootCause, type ClientFamily, type ClientResponse } from '../conformance/clients.js';
import { logSince, quietLogLength, servePac, useLab } from '../helpers/lab.js';

// With only JAATO_PAC_URL (and the Kerberos switch) set, every client family follows the PAC: a dead
// proxy first in its list, then the Negotiate Squid for 127.0.0.1; localhost DIRECT.
const ctx = useLab();

function echo(res: ClientResponse): EchoReply {
  assert.equal(res.status, 200, res.body.toString());
  return JSON.parse(res.body.toString()) as EchoReply;
}

/** node:http and node:https with no agent of their own, after install(): the global agents. */
const globalNodeFamily: ClientFamily = {
  name: 'global install (node:http, node:https)',
  create(options) {
    install(options);
    return {
      request: (url, spec = {}) =>
        new Promise<ClientResponse>((resolve, reject) => {
          const send = url.startsWith('https:') ? (import('node:https').then((m) => m.request)) : Promise.resolve(http.request);
          void send.then((request) => {
            const req = request(url, { method: spec.method ?? 'GET', headers: spec.headers });
            req.on('error', reject);
            req.on('response', (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: {}, body: Buffer.concat(chunks) }));
            });
            req.end(typeof spec.body === 'string' ? spec.body : undefined);
          }, reject);
        }),
      close: () => uninstall(),
    };
  },
};

for (const family of [...CLIENT_FAMILIES, globalNodeFamily]) {
  test(`PAC with ${family.name}: past a dead proxy to the Negotiate Squid (Kerberos), localhost DIRECT in origin form`, async () => {
    const lab = ctx.lab;
    const dead = await freePort();
    const squid = new URL(lab.proxies.negotiate).port;
    // A PAC of its own per family: the dead proxy's bad mark is per PAC, so each family meets it once.
    const pac = servePac(lab, `function FindProxyForURL(url, host) {
      if (host === 'localhost') return 'DIRECT';
      return 'PROXY 127.0.0.1:${dead}; PROXY localhost:${squid}; DIRECT';
    }`);
    const from = await quietLogLength(lab);
    const skipped: string[] = [];
    const onDebug = (m: unknown): void => {
      const message = (m as { message: string }).message;
      if (message.includes('unreachable, next PAC entry')) skipped.push(message);
    };
    subscribe('jaato-proxy:debug', onDebug);
    const client = family.create({ env: { JAATO_PAC_URL: pac, JAATO_KERBEROS_PROXY: 'true' }, ca: lab.ca });
    try {
      const posted = echo(await client.request(`${lab.origins.http.url}/pac-post`, { method: 'POST', body: 'kept whole after the failover' }));
      assert.equal(posted.bodyBytes, 29);
      assert.match(String(posted.headers.via), /squid/, 'through the Squid');
      assert.equal(posted.headers['proxy-authorization'], undefined, 'the token went to the proxy only');
      const tunnelled = echo(await client.request(`${lab.origins.https.url}/pac-https`));
      assert.equal(tunnelled.tls, true);
      const local = (u: string): string => u.replace('127.0.0.1', 'localhost');
      const direct = echo(await client.request(`${local(lab.origins.http.url)}/pac-direct?q=1`));
      assert.equal(direct.headers.via, undefined, 'DIRECT: no proxy in between');
      assert.equal(direct.url, '/pac-direct?q=1', 'origin form on a DIRECT connection');
      const again = echo(await client.request(`${local(lab.origins.http.url)}/pac-direct-2`));
      assert.equal(again.url, '/pac-direct-2', 'origin form for the next request on the kept-alive connection too');
      const directTls = echo(await client.request(`${local(lab.origins.https.url)}/pac-direct-tls`));
      assert.equal(directTls.tls, true);
      assert.equal(directTls.headers.via, undefined);
      assert.equal(skipped.length, 1, 'the dead proxy was tried once, then marked bad');
    } finally {
      unsubscribe('jaato-proxy:debug', onDebug);
      await client.close();
    }
    const log = await logSince(lab, from, 2);
    assert.deepEqual(
      log.map((e) => [e.method, e.status, e.user]).sort(),
      [['CONNECT', 200, lab.principal], ['POST', 200, lab.principal]],
      'one forwarded POST and one tunnel, each Kerberos-authenticated; nothing of localhost',
    );
  });
}

test('PAC with the node agents: a host the exact bypass names never reaches the PAC, and keeps origin form', async () => {
  const lab = ctx.lab;
  const pac = servePac(lab, `function FindProxyForURL(url, host) { return 'PROXY localhost:${new URL(lab.proxies.negotiate).port}'; }`);
  const family = CLIENT_FAMILIES.find((f) => f.name.startsWith('node:')) as ClientFamily;
  const client = family.create({ env: { JAATO_PAC_URL: pac, JAATO_NO_PROXY: '127.0.0.1', JAATO_KERBEROS_PROXY: 'true' }, ca: lab.ca });
  try {
    const bypassed = echo(await client.request(`${lab.origins.http.url}/exact`));
    assert.equal(bypassed.headers.via, undefined);
    assert.equal(bypassed.url, '/exact');
  } finally {
    await client.close();
  }
});

test('PAC with the node agents: a PAC that throws fails the request with a typed error, never a silent DIRECT', async () => {
  const lab = ctx.lab;
  const pac = servePac(lab, "function FindProxyForURL() { throw new Error('nope'); }");
  const family = CLIENT_FAMILIES.find((f) => f.name.startsWith('node:')) as ClientFamily;
  const client = family.create({ env: { JAATO_PAC_URL: pac }, ca: lab.ca });
  try {
    for (const url of [`${lab.origins.http.url}/throws`, `${lab.origins.https.url}/throws`]) {
      await assert.rejects(client.request(url), (e: unknown) => {
        assert.ok(e instanceof PacEvaluationError, String(e));
        assert.match(e.message, /threw in FindProxyForURL: Error: nope/);
        return true;
      });
    }
    const reached = [...lab.origins.http.seen, ...lab.origins.https.seen].filter((r) => r.url.endsWith('/throws'));
    assert.deepEqual(reached, [], 'nothing reached the origins');
  } finally {
    await client.close();
  }
});

test('PAC to the Basic port: the credentials of the same proxy configured in HTTP(S)_PROXY go to it, and only to it', async () => {
  const lab = ctx.lab;
  const basic = new URL(lab.proxies.basic);
  const pac = servePac(lab, `function FindProxyForURL(url, host) { return 'PROXY localhost:${basic.port}'; }`);
  const withCredentials = `http://${lab.basic.username}:${lab.basic.password}@localhost:${basic.port}`;
  // Another proxy's credentials must never be lent to the PAC's proxy.
  const elsewhere = `http://${lab.basic.username}:${lab.basic.password}@127.0.0.1:${basic.port}`;
  for (const family of CLIENT_FAMILIES.filter((f) => f.name === 'fetch' || f.name.startsWith('node:'))) {
    const from = await quietLogLength(lab);
    const client = family.create({ env: { JAATO_PAC_URL: pac, HTTP_PROXY: withCredentials, HTTPS_PROXY: withCredentials }, ca: lab.ca });
    try {
      assert.match(String(echo(await client.request(`${lab.origins.http.url}/pac-basic`)).headers.via), /squid/, family.name);
      assert.equal(echo(await client.request(`${lab.origins.https.url}/pac-basic`)).tls, true, family.name);
    } finally {
      await client.close();
    }
    const log = await logSince(lab, from, 2);
    assert.deepEqual(log.map((e) => [e.method, e.status, e.user]).sort(), [['CONNECT', 200, lab.basic.username], ['GET', 200, lab.basic.username]], family.name);
    const refused = family.create({ env: { JAATO_PAC_URL: pac, HTTPS_PROXY: elsewhere }, ca: lab.ca });
    try {
      const res = await refused.request(`${lab.origins.https.url}/pac-basic-refused`).then(
        (r) => r.status,
        (e: unknown) => (rootCause(e) as { code?: string }).code,
      );
      assert.equal(res, 'ERR_JAATO_PROXY_AUTH', `${family.name}: no credentials of another proxy`);
    } finally {
      await refused.close();
    }
  }
});
