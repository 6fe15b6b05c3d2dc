// Faults of the real lab's parts, with the same client object throughout: Squid crashing under load,
// the KDC going away, a ticket expiring mid-run. Each ends in recovery or in a typed error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createFetch,
  JaatoProxyError,
  KerberosKdcUnreachableError,
  KerberosTicketExpiredError,
  ProxyAuthenticationError,
  unwrapError,
} from '../../src/index.js';
import { readFileSync } from 'node:fs';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { logUntil, untilTicketExpired, useLab } from '../helpers/lab.js';

const ctx = useLab();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('Squid killed and restarted under load: no GET fails (each cut or refused one is sent again), and the same client recovers', async () => {
  const lab = ctx.lab;
  const f = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca, connectTimeout: 3000 });
  const outcomes: Array<number | unknown> = [];
  const afterRestart: Array<number | unknown> = [];
  let restarted = false;
  try {
    const loop = async (i: number): Promise<void> => {
      for (let n = 0, after = 0; after < 20; n++) {
        const started = restarted; // requests started once Squid is back must all succeed
        const url = `${n % 2 ? lab.origins.https.url : lab.origins.http.url}/load-${i}-${n}`;
        // A body cut by the crash fails too (fetch's "terminated"): caught here, and it must be typed as well.
        const outcome = await f(url).then((r) => r.arrayBuffer().then(() => r.status)).catch((e: unknown) => unwrapError(e));
        (started ? afterRestart : outcomes).push(outcome);
        if (started) after++;
      }
    };
    const loops = Array.from({ length: 6 }, (_, i) => loop(i));
    // The restart must hit requests in flight: wait until every loop has had answers (the load runs
    // on kept-alive tunnels), however slow the machine, rather than a fixed time.
    for (const deadline = Date.now() + 30_000; outcomes.length < 12 && Date.now() < deadline; ) await sleep(25);
    const retries: unknown[] = [];
    const onRetry = (m: unknown): void => void retries.push(m);
    subscribe('jaato-proxy:retry', onRetry);
    try {
      await lab.restartSquid();
      restarted = true;
      await Promise.all(loops);
    } finally {
      unsubscribe('jaato-proxy:retry', onRetry);
    }
    assert.ok(retries.length > 0, 'the restart hit requests, which were sent again (else this row proves nothing)');
    const failures = outcomes.filter((o) => o !== 200);
    assert.ok(failures.every((e) => e instanceof JaatoProxyError), `untyped: ${failures.filter((e) => !(e instanceof JaatoProxyError)).map(String).join('; ')}`);
    assert.deepEqual(failures.map(String), [], 'no idempotent request failed');
    assert.equal(afterRestart.length, 6 * 20);
    assert.deepEqual(afterRestart.filter((o) => o !== 200), [], 'the same client recovered');
  } finally {
    await f.dispatcher.close();
  }
});

test('KDC down with only a TGT: typed KDC error on a new connection; the same client recovers once it is back', async () => {
  const lab = ctx.lab;
  await lab.kdestroy();
  await lab.kinit(); // a TGT only: the proxy's service ticket must come from the KDC
  const f = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca });
  await lab.stopKdc();
  try {
    const error = await f(`${lab.origins.https.url}/kdc-down`).then(() => undefined, (e: unknown) => unwrapError(e));
    assert.ok(error instanceof ProxyAuthenticationError, String(error));
    assert.ok(error.cause instanceof KerberosKdcUnreachableError, String(error.cause));
    await lab.startKdc();
    const res = await f(`${lab.origins.https.url}/kdc-back`);
    assert.equal(res.status, 200);
  } finally {
    await lab.startKdc().catch(() => undefined); // already running when the test got this far
    await f.dispatcher.close();
  }
});

test('a ticket that expires mid-run: typed expiry error on the next new connection, recovery after kinit', async () => {
  const lab = ctx.lab;
  await lab.kdestroy();
  await lab.kinit({ lifetime: '2s' });
  // Each request goes to an origin the client has no connection for, so each opens a new proxy
  // connection and needs a new token (an idle-time bound would not do: undici keeps a connection for
  // as long as the origin's Keep-Alive hint says, whatever keepAliveTimeout asks).
  const tls = new URL(lab.origins.https.url);
  const f = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca });
  try {
    assert.equal((await f(`https://127.0.0.1:${tls.port}/before-expiry`)).status, 200);
    await untilTicketExpired(lab.env.KRB5CCNAME ?? '');
    const error = await f(`https://localhost:${tls.port}/after-expiry`).then(() => undefined, (e: unknown) => unwrapError(e));
    assert.ok(error instanceof ProxyAuthenticationError, String(error));
    assert.ok(error.cause instanceof KerberosTicketExpiredError, String(error.cause));
    assert.match(error.message, /kinit/);
    await lab.kinit();
    assert.equal((await f(`${lab.origins.http.url}/renewed`)).status, 200);
  } finally {
    await f.dispatcher.close();
  }
});

test('Apache killed and restarted (lab.restartApache): same port, the same client recovers, the new httpd logs', async () => {
  const lab = ctx.lab;
  const f = createFetch({ proxy: lab.proxies.perRequest, kerberos: true, env: {}, ca: lab.ca });
  const pidFile = `${lab.dir}/apache/httpd.pid`;
  try {
    assert.equal((await f(`${lab.origins.https.url}/before-apache-restart`)).status, 200);
    const before = Number(readFileSync(pidFile, 'utf8'));
    await lab.restartApache();
    const after = Number(readFileSync(pidFile, 'utf8'));
    assert.notEqual(after, before, 'a new httpd');
    assert.throws(() => process.kill(before, 0), { code: 'ESRCH' }, 'the old httpd is gone');
    const from = lab.perRequestLog().length;
    // The pooled tunnel died with the old httpd: its request may fail, typed; the next one succeeds.
    const first = await f(`${lab.origins.http.url}/after-apache-restart`).then((r) => r.status, (e: unknown) => unwrapError(e));
    assert.ok(first === 200 || first instanceof JaatoProxyError, String(first));
    assert.equal((await f(`${lab.origins.http.url}/after-apache-restart-2`)).status, 200);
    const log = await logUntil(lab, from, (e) => e.url.endsWith('/after-apache-restart-2'), (l) => l.perRequestLog());
    assert.ok(log.some((e) => e.url.endsWith('/after-apache-restart-2') && e.status === 200 && e.user === lab.principal), JSON.stringify(log));
  } finally {
    await f.dispatcher.close();
  }
});
