import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSpnegoToken, NegotiateContext } from '../../src/auth/spnego.js';
import { gssCalls } from '../../src/auth/gss-calls.js';
import { KerberosKdcUnreachableError, KerberosUnknownSpnError } from '../../src/auth/errors.js';
import { NativeSecurityFailure, type SecurityProvider } from '../../src/auth/native/provider.js';
import { InvalidOptionError } from '../../src/config/errors.js';
import { resolveConfig } from '../../src/config/proxy-config.js';

/** A security library with nothing native behind it: records the service names it is given. */
function fakeAddon(step: () => Promise<Buffer> = async () => Buffer.from('token')): { addon: SecurityProvider; services: string[]; disposed: () => number } {
  const services: string[] = [];
  let disposed = 0;
  const addon: SecurityProvider = {
    info: { family: 'mit', library: 'fake', version: undefined, api: 'GSSAPI' },
    inquireCredential: async () => ({ principal: undefined, lifetimeSeconds: undefined }),
    initContext: (options) => {
      services.push(options.spn);
      return { step: async () => ({ token: await step(), complete: false }), targetName: async () => undefined, dispose: () => void disposed++ };
    },
  };
  return { addon, services, disposed: () => disposed };
}

test('on a simulated win32 the library is given HTTP/proxy.host; on linux and darwin with HTTP@proxy.host', async () => {
  const cases: ReadonlyArray<readonly [NodeJS.Platform, { spn?: string; env?: Record<string, string> }, string]> = [
    ['win32', {}, 'HTTP/proxy.host'],
    ['linux', {}, 'HTTP@proxy.host'],
    ['darwin', {}, 'HTTP@proxy.host'],
    ['win32', { env: { JAATO_KERBEROS_SPN: 'HTTP@alias.host' } }, 'HTTP/alias.host'],
    ['linux', { env: { JAATO_KERBEROS_SPN: 'HTTP/alias.host' } }, 'HTTP@alias.host'],
    ['darwin', { spn: 'HTTP/alias.host' }, 'HTTP@alias.host'],
    ['win32', { spn: 'HTTP/alias.host@CORP.EXAMPLE' }, 'HTTP/alias.host@CORP.EXAMPLE'],
  ];
  for (const [platform, options, expected] of cases) {
    const { addon, services } = fakeAddon();
    await generateSpnegoToken('proxy.host', { ...options, env: options.env ?? {}, platform, provider: addon });
    assert.deepEqual(services, [expected], `${platform} ${JSON.stringify(options)}`);
  }
  // The same through the compiled configuration the transports use.
  const { addon, services } = fakeAddon();
  const route = resolveConfig({ env: { HTTPS_PROXY: 'http://proxy.host:8080', JAATO_KERBEROS_PROXY: 'true' }, platform: 'win32' }).route('https://api.example.com/');
  assert.equal(route.type, 'proxy');
  await NegotiateContext.start(route.type === 'proxy' ? (route.spn as string) : '', { provider: addon, platform: 'win32' });
  assert.deepEqual(services, ['HTTP/proxy.host']);
});

test('a failure from the library is typed with the remedy of the platform it runs on', async () => {
  const { addon } = fakeAddon(() => Promise.reject(new NativeSecurityFailure('unknown-service', 'InitializeSecurityContextW', 0x80090303, 0, 'The specified target is unknown or unreachable')));
  await assert.rejects(NegotiateContext.start('HTTP/proxy.host', { provider: addon, platform: 'win32' }), (e: unknown) => {
    assert.ok(e instanceof KerberosUnknownSpnError);
    assert.match(e.message, /setspn -Q/);
    assert.doesNotMatch(e.message, /kinit/);
    return true;
  });
});

test('a token that does not come within the timeout fails with the typed KDC error; its slot is held, and the service marked stalled, until the call ends', async () => {
  let release!: () => void;
  const hung = new Promise<Buffer>((resolve) => (release = () => resolve(Buffer.from('late'))));
  const { addon } = fakeAddon(() => hung);
  const started = performance.now();
  await assert.rejects(NegotiateContext.start('HTTP@proxy.host', { provider: addon, timeout: 200 }), (e: unknown) => {
    assert.ok(e instanceof KerberosKdcUnreachableError, String(e));
    assert.equal(e.timeoutMs, 200);
    assert.equal(e.code, 'ERR_JAATO_KERBEROS_KDC_UNREACHABLE');
    assert.match(e.message, /within 200 ms \(tokenTimeout\)/);
    return true;
  });
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 190 && elapsed < 1500, `failed at the bound (${elapsed} ms)`);
  assert.equal(gssCalls.running, 1, 'the native call still counts');
  // While that call has not ended, another token for the same service fails at once instead of waiting
  // again (its own bound, 5 s, is far from what "at once" allows).
  const t = performance.now();
  await assert.rejects(NegotiateContext.start('HTTP@proxy.host', { provider: addon, timeout: 5000 }), (e: unknown) => {
    assert.ok(e instanceof KerberosKdcUnreachableError);
    assert.equal(e.timeoutMs, 200, 'the bound of the attempt that is still waiting');
    assert.match(e.message, /an earlier attempt for this service is still waiting for the KDC/);
    return true;
  });
  assert.ok(performance.now() - t < 1000, 'at once');
  assert.equal(gssCalls.running, 1, 'and it started no native call');
  release();
  await new Promise((r) => setImmediate(r));
  assert.equal(gssCalls.running, 0);
  // The call ended: tokens for that service are asked for again.
  const context = await NegotiateContext.start('HTTP@proxy.host', { provider: fakeAddon().addon, timeout: 200 });
  assert.ok(context.token.length > 0);
});

test('an abort rejects at once with the signal\'s reason; a bad timeout is an InvalidOptionError', async () => {
  let release!: () => void;
  const { addon } = fakeAddon(() => new Promise<Buffer>((resolve) => (release = () => resolve(Buffer.from('late')))));
  const controller = new AbortController();
  const pending = NegotiateContext.start('HTTP@proxy.host', { provider: addon, timeout: 60_000, signal: controller.signal });
  // Until the library call is running (polled, not slept).
  while (gssCalls.running === 0) await new Promise((r) => setImmediate(r));
  const reason = new Error('request destroyed');
  const t = performance.now();
  controller.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  assert.ok(performance.now() - t < 1000, 'long before the 60 s bound');
  release();
  for (const timeout of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(NegotiateContext.start('HTTP@proxy.host', { provider: addon, timeout }), (e: unknown) => e instanceof InvalidOptionError && /tokenTimeout/.test(e.message));
  }
});
