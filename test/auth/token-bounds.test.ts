import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { pbkdf2 } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NegotiateContext } from '../../src/auth/spnego.js';
import { gssCalls } from '../../src/auth/gss-calls.js';
import { KerberosKdcUnreachableError } from '../../src/auth/errors.js';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createAgents, createFetch, unwrapError } from '../../src/index.js';
import { ProxyAuthenticationError } from '../../src/transport/errors.js';
import { useLab } from '../helpers/lab.js';

const ctx = useLab({ kinit: false });
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `condition` every 20 ms until it holds, or fails naming `what` after 5 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `never: ${what}`);
    await delay(20);
  }
}

/**
 * A KDC that accepts connections (TCP, and UDP datagrams) on a loopback port and never answers, and a
 * krb5.conf that is the lab's with its KDC moved there. A TGT from the real lab KDC is in a fresh cache,
 * so GSSAPI goes to the silent one for the service ticket (none is cached).
 */
async function silentKdc(name: string): Promise<{ connections: () => number; close: () => Promise<void> }> {
  const lab = ctx.lab;
  const sockets = new Set<Socket>();
  const tcp = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const port = (tcp.address() as { port: number }).port;
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));
  const ccache = join(lab.dir, `${name}-ccache`);
  await lab.kinit({ ccache });
  const original = readFileSync(lab.env.KRB5_CONFIG as string, 'utf8');
  const moved = original.replace(/(kdc = 127\.0\.0\.1:)\d+/, `$1${port}`);
  assert.notEqual(moved, original, 'the lab krb5.conf names its KDC');
  const conf = join(lab.dir, `${name}-krb5.conf`);
  writeFileSync(conf, moved);
  const saved = { conf: process.env.KRB5_CONFIG, cache: process.env.KRB5CCNAME };
  process.env.KRB5_CONFIG = conf;
  process.env.KRB5CCNAME = `FILE:${ccache}`;
  return {
    connections: () => sockets.size,
    close: async () => {
      // The KDC hangs up: the calls still waiting on it fail fast and give their threads back.
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
      udp.close();
      // The variables go back only once the calls have ended: a call still running reads them.
      const deadline = Date.now() + 20_000;
      while (gssCalls.running > 0 && Date.now() < deadline) await delay(50);
      process.env.KRB5_CONFIG = saved.conf;
      process.env.KRB5CCNAME = saved.cache;
      assert.equal(gssCalls.running, 0, 'every native call ended once the KDC hung up');
    },
  };
}

test('a KDC that never answers: each token fails typed within the bound; fs, crypto and dns keep moving', async () => {
  // The cap is half of libuv's default pool of 4: this test measures that setting.
  assert.equal(process.env.UV_THREADPOOL_SIZE ?? '4', '4');
  assert.equal(gssCalls.max, 2);
  const kdc = await silentKdc('silent');
  try {
    const bound = 2000;
    const t0 = performance.now();
    const tokens = [0, 1, 2, 3].map(() =>
      NegotiateContext.start('HTTP@localhost', { timeout: bound }).then(
        () => assert.fail('a token from a KDC that never answers'),
        (error: unknown) => ({ error, at: performance.now() - t0 }),
      ),
    );
    await until(() => kdc.connections() >= 1, 'GSSAPI is talking to the silent KDC');
    assert.deepEqual([gssCalls.running, gssCalls.waiting], [2, 2], 'two calls in the pool, two queued');

    // Unrelated threadpool work while four tokens hang. Without the cap all four threads are taken and
    // these wait for the Kerberos library (45-54 s measured in issue 10).
    const r0 = performance.now();
    await Promise.all([
      readFile(process.env.KRB5_CONFIG as string),
      promisify(pbkdf2)('x', 'salt', 1000, 32, 'sha256'),
      lookup('localhost'),
    ]);
    const unrelated = performance.now() - r0;
    assert.ok(unrelated < 2000, `fs.readFile, crypto.pbkdf2 and dns.lookup took ${Math.round(unrelated)} ms`);

    for (const { error, at } of await Promise.all(tokens)) {
      assert.ok(error instanceof KerberosKdcUnreachableError, String(error));
      assert.equal(error.timeoutMs, bound);
      assert.match(error.message, /within 2000 ms \(tokenTimeout\)/);
      assert.ok(at >= bound - 50 && at < bound + 1500, `failed after ${Math.round(at)} ms (bound ${bound})`);
    }
    // The two calls that reached the KDC are still on their threads, and still counted.
    assert.deepEqual([gssCalls.running, gssCalls.waiting], [2, 0]);
    const again = performance.now();
    await readFile(process.env.KRB5_CONFIG as string);
    assert.ok(performance.now() - again < 2000, 'the pool still has threads for the rest of the process');
  } finally {
    await kdc.close();
  }
});

test('an abort while a token hangs rejects at once, queued or running; the library failure that follows is typed', async () => {
  const kdc = await silentKdc('silent-abort');
  try {
    const running = new AbortController();
    const first = NegotiateContext.start('HTTP@localhost', { timeout: 60_000, signal: running.signal });
    const second = NegotiateContext.start('HTTP@localhost', { timeout: 60_000 });
    const queued = new AbortController();
    const third = NegotiateContext.start('HTTP@localhost', { timeout: 60_000, signal: queued.signal });
    await until(() => kdc.connections() >= 1 && gssCalls.running === 2 && gssCalls.waiting === 1, 'two calls at the silent KDC, one queued');

    let t = performance.now();
    queued.abort(new Error('queued caller went away'));
    await assert.rejects(third, /queued caller went away/);
    assert.ok(performance.now() - t < 1000, `queued abort took ${Math.round(performance.now() - t)} ms`);
    assert.equal(gssCalls.waiting, 0);

    t = performance.now();
    running.abort();
    await assert.rejects(first, (e: unknown) => e instanceof DOMException && e.name === 'AbortError');
    assert.ok(performance.now() - t < 1000, `running abort took ${Math.round(performance.now() - t)} ms`);
    assert.equal(gssCalls.running, 2, 'the aborted call keeps its slot until the library returns');

    // The KDC hangs up: the call nobody aborted fails with the library's own text, typed.
    const outcome = second.then(
      () => undefined,
      (e: unknown) => e,
    );
    await kdc.close();
    const error = await outcome;
    assert.ok(error instanceof KerberosKdcUnreachableError, String(error));
    assert.equal(error.timeoutMs, undefined);
    assert.match(error.message, /Cannot contact any KDC/);
  } finally {
    if (gssCalls.running > 0) await kdc.close().catch(() => undefined);
  }
});

test('through the proxy, connectTimeout bounds the token too: the request fails with the KDC error as its cause, once', async () => {
  const lab = ctx.lab;
  const kdc = await silentKdc('silent-fetch');
  const fetch = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, connectTimeout: 1500, ca: lab.ca, env: {} });
  try {
    for (const url of [`${lab.origins.http.url}/forwarded`, `${lab.origins.https.url}/tunnelled`]) {
      const t0 = performance.now();
      const error = unwrapError(await fetch(url).then(() => assert.fail(`${url} answered`), (e: unknown) => e));
      const elapsed = performance.now() - t0;
      assert.ok(error instanceof ProxyAuthenticationError, `${url}: ${String(error)}`);
      assert.ok(error.cause instanceof KerberosKdcUnreachableError, `${url}: cause ${String(error.cause)}`);
      assert.equal(error.cause.timeoutMs, 1500);
      assert.match(error.message, /within 1500 ms \(tokenTimeout\)/);
      // One wait for the token, not one per 407: the 407 answer reuses the timed-out attempt.
      assert.ok(elapsed < 1500 + 1400, `${url} failed after ${Math.round(elapsed)} ms`);
    }
  } finally {
    await fetch.dispatcher.close();
    await kdc.close();
  }
});

for (const scheme of ['https', 'http'] as const) {
  test(`node:${scheme}: req.destroy() while the Kerberos token hangs ends the request at once, not at the token's bound`, async () => {
    const lab = ctx.lab;
    const kdc = await silentKdc(`destroy-${scheme}`);
    const agents = createAgents({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca, connectTimeout: 20_000 });
    try {
      const url = `${lab.origins[scheme].url}/destroyed`;
      const req = (scheme === 'https' ? httpsRequest : httpRequest)(url, { agent: agents[scheme] });
      req.on('error', () => undefined);
      const closed = new Promise<number>((resolve) => req.once('close', () => resolve(Date.now())));
      req.end();
      await until(() => kdc.connections() >= 1, 'the token is being made, against the silent KDC');
      const destroyed = Date.now();
      req.destroy();
      const at = await Promise.race([closed, delay(5000).then(() => Number.NaN)]);
      assert.ok(at - destroyed < 1000, `closed ${at - destroyed} ms after destroy() (the token's bound is 20 s)`);
    } finally {
      agents.http.destroy();
      agents.https.destroy();
      await kdc.close();
    }
  });
}

test('a fetch whose token hangs ends at once when its caller aborts', async () => {
  const lab = ctx.lab;
  const kdc = await silentKdc('give-up');
  const f = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca, connectTimeout: 20_000 });
  try {
    const started = Date.now();
    const aborted = await f(`${lab.origins.https.url}/give-up`, { signal: AbortSignal.timeout(300) }).then(() => 'answered', (e: unknown) => e);
    assert.ok(aborted instanceof Error && /abort|timeout/i.test(`${aborted.name} ${aborted.message}`), String(aborted));
    assert.ok(Date.now() - started < 2000, `fetch gave up after ${Date.now() - started} ms`);
  } finally {
    await f.dispatcher.close().catch(() => undefined);
    await kdc.close();
  }
});

test("dispatcher.close() after a fetch was aborted while its token hangs: not held by the token's bound", async () => {
  const lab = ctx.lab;
  const kdc = await silentKdc('close-bound');
  const f = createFetch({ proxy: lab.proxies.negotiate, kerberos: true, env: {}, ca: lab.ca, connectTimeout: 20_000 });
  try {
    const give = new AbortController();
    const outcome = f(`${lab.origins.https.url}/close-bound`, { signal: give.signal }).then(() => 'answered', (e: unknown) => e);
    await until(() => kdc.connections() >= 1, 'the token is being made, against the silent KDC');
    give.abort();
    assert.ok((await outcome) instanceof Error);
    const started = Date.now();
    const closed = await Promise.race([f.dispatcher.close().then(() => Date.now()), delay(10_000).then(() => Number.NaN)]);
    assert.ok(closed - started < 2000, `close() took ${Number.isNaN(closed) ? '> 10000' : closed - started} ms (the token's bound is 20 s)`);
  } finally {
    await f.dispatcher.destroy().catch(() => undefined);
    await kdc.close();
  }
});
