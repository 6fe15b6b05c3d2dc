import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createFetch, install, uninstall } from '../../src/index.js';
import type { EchoReply } from '../../lab/origin.js';
import { freePort } from '../../lab/processes.js';
import { PacEvaluationError } from '../../src/pac/errors.js';
import { logSince, quietLogLength, servePac, useLab } from '../helpers/lab.js';

const ctx = useLab();

function proxyPort(url: string): number {
  return Number(new URL(url).port);
}

async function json(res: Response): Promise<EchoReply> {
  assert.equal(res.status, 200);
  return (await res.json()) as EchoReply;
}

test('PAC with fetch: the lab host to the Negotiate Squid (http and https, Kerberos-authenticated), localhost DIRECT', async () => {
  const lab = ctx.lab;
  const pac = servePac(lab, `function FindProxyForURL(url, host) {
    if (host === 'localhost') return 'DIRECT';
    if (isInNet(dnsResolve(host), '127.0.0.0', '255.0.0.0')) return 'PROXY localhost:${proxyPort(lab.proxies.negotiate)}';
    return 'DIRECT';
  }`);
  const from = await quietLogLength(lab);
  const f = createFetch({ pac, kerberos: true, env: {}, ca: lab.ca });
  try {
    const plain = await json(await f(`${lab.origins.http.url}/pac-http`));
    assert.match(String(plain.headers.via), /squid/);
    const tls = await json(await f(`${lab.origins.https.url}/pac-https`));
    assert.equal(tls.tls, true);
    const direct = await json(await f(`${lab.origins.http.url.replace('127.0.0.1', 'localhost')}/pac-direct`));
    assert.equal(direct.headers.via, undefined, 'DIRECT: no proxy in between');
  } finally {
    await f.dispatcher.close();
  }
  const log = await logSince(lab, from, 2);
  assert.deepEqual(log.map((e) => [e.method, e.status, e.user]).sort(), [['CONNECT', 200, lab.principal], ['GET', 200, lab.principal]]);
});

test('PAC with fetch: a dead proxy first in the list is skipped for that request and marked bad for the next', async () => {
  const lab = ctx.lab;
  const dead = await freePort();
  const pac = servePac(lab, `function FindProxyForURL(url, host) { return 'PROXY 127.0.0.1:${dead}; PROXY localhost:${proxyPort(lab.proxies.negotiate)}; DIRECT'; }`);
  const skipped: string[] = [];
  const onDebug = (m: unknown): void => {
    const message = (m as { message: string }).message;
    if (message.includes('unreachable, next PAC entry')) skipped.push(message);
  };
  subscribe('jaato-proxy:debug', onDebug);
  const f = createFetch({ pac, kerberos: true, env: {}, ca: lab.ca });
  try {
    const first = await json(await f(`${lab.origins.http.url}/failover-1`, { method: 'POST', body: 'kept whole' }));
    assert.equal(first.bodyBytes, 10);
    assert.match(String(first.headers.via), /squid/);
    assert.equal(skipped.length, 1, 'the dead proxy was tried once');
    await json(await f(`${lab.origins.https.url}/failover-2`));
    assert.equal(skipped.length, 1, 'marked bad: not tried again');
  } finally {
    unsubscribe('jaato-proxy:debug', onDebug);
    await f.dispatcher.close();
  }
});

test('PAC with fetch: the bypass lists decide before the PAC; hostile PACs fail the request with a bounded typed error', async () => {
  const lab = ctx.lab;
  const everything = servePac(lab, `function FindProxyForURL(url, host) { return 'PROXY localhost:${proxyPort(lab.proxies.negotiate)}'; }`);
  const f = createFetch({ pac: everything, exactNoProxy: '127.0.0.1', kerberos: true, env: {}, ca: lab.ca });
  try {
    const bypassed = await json(await f(`${lab.origins.http.url}/exact`));
    assert.equal(bypassed.headers.via, undefined, 'JAATO_NO_PROXY host went direct, the PAC notwithstanding');
  } finally {
    await f.dispatcher.close();
  }
  const hostile: Array<[string, string, RegExp]> = [
    ['loop', 'function FindProxyForURL() { for (;;) {} }', /ran past its 1000 ms limit in FindProxyForURL/],
    ['escape', "function FindProxyForURL() { var F = (function () {}).constructor; var mk = F('return this'); var g = mk(); return g.process.env.HOME; }", /threw in FindProxyForURL: TypeError/],
    ['throws', "function FindProxyForURL() { throw new Error('nope'); }", /threw in FindProxyForURL: Error: nope/],
    ['garbage', "function FindProxyForURL() { return 'BANANA split'; }", /returned no usable entry for 127\.0\.0\.1:\d+ \("BANANA split"\)/],
  ];
  for (const [name, text, message] of hostile) {
    const g = createFetch({ pac: servePac(lab, text), kerberos: true, env: {}, ca: lab.ca });
    const started = Date.now();
    try {
      await assert.rejects(g(`${lab.origins.http.url}/${name}`), (e: unknown) => {
        const cause = (e as { cause?: unknown }).cause;
        assert.ok(cause instanceof PacEvaluationError, `${name}: ${String(cause)}`);
        assert.match(cause.message, message, name);
        return true;
      });
      assert.ok(Date.now() - started < 10_000, `${name}: bounded`);
    } finally {
      await g.dispatcher.close();
    }
  }
});

test('PAC with the global install: plain fetch follows JAATO_PAC_URL alone', async () => {
  const lab = ctx.lab;
  const pac = servePac(lab, `function FindProxyForURL(url, host) { return 'PROXY localhost:${proxyPort(lab.proxies.negotiate)}'; }`);
  install({ env: { JAATO_PAC_URL: pac, JAATO_KERBEROS_PROXY: 'true' }, ca: lab.ca });
  try {
    const echo = await json(await fetch(`${lab.origins.https.url}/global-pac`));
    assert.equal(echo.tls, true);
    assert.equal(echo.headers['proxy-authorization'], undefined);
  } finally {
    await uninstall();
  }
});
