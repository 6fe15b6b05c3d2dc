// The NTLM authenticator's legs and errors against a stand-in security library (the real one runs in
// test/ad/ad-ntlm.test.ts against the AD lab's Squid): what it asks of the library, what it never prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { NativeSecurityFailure, NtlmAuthenticator, startProxyAuthenticator, type SecurityProvider } from '../../src/auth/index.js';
import type { InitContextOptions } from '../../src/auth/native/provider.js';
import { ProxyCredentials } from '../../src/config/proxy-credentials.js';
import { JaatoProxyError } from '../../src/errors.js';

const PASSWORD = 'S3cret!pw';

function fakeProvider(fail?: { leg: number; error: NativeSecurityFailure }): { provider: SecurityProvider; seen: InitContextOptions[]; inputs: Array<string | undefined>; disposed: () => number } {
  const seen: InitContextOptions[] = [];
  const inputs: Array<string | undefined> = [];
  let disposed = 0;
  const provider: SecurityProvider = {
    info: { family: 'mit', library: 'fake', version: undefined, api: 'GSSAPI' },
    inquireCredential: async () => ({ principal: undefined, lifetimeSeconds: undefined }),
    initContext(options) {
      seen.push(options);
      let leg = 0;
      return {
        step: async (input) => {
          inputs.push(input?.toString());
          if (fail && fail.leg === leg) throw fail.error;
          leg++;
          return input ? { token: Buffer.from('type3'), complete: true } : { token: Buffer.from('type1'), complete: false };
        },
        targetName: async () => undefined,
        dispose: () => void disposed++,
      };
    },
  };
  return { provider, seen, inputs, disposed: () => disposed };
}

test('NtlmAuthenticator: start → NEGOTIATE, step(CHALLENGE) → AUTHENTICATE and done, with the NTLM mechanism and the given credentials', async () => {
  const f = fakeProvider();
  const credentials = new ProxyCredentials('ADJAATO\\bob', PASSWORD);
  const a = new NtlmAuthenticator('proxy.example', { provider: f.provider, credentials });
  assert.equal(a.scheme, 'NTLM');
  assert.equal(await a.start(), Buffer.from('type1').toString('base64'));
  assert.deepEqual(await a.step(Buffer.from('type2').toString('base64')), { token: Buffer.from('type3').toString('base64'), done: true });
  assert.deepEqual(await a.step('anything'), { token: undefined, done: true });
  assert.deepEqual(f.inputs, [undefined, 'type2']);
  assert.equal(f.seen[0]?.mechanism, 'ntlm');
  assert.equal(f.seen[0]?.spn, process.platform === 'win32' ? 'HTTP/proxy.example' : 'HTTP@proxy.example');
  assert.equal(f.seen[0]?.password, credentials);
  assert.ok(f.disposed() >= 1, 'the context is released once the handshake is over');
  // Nothing printable holds the password.
  for (const text of [inspect(a), JSON.stringify(a), inspect(a, { showHidden: true, depth: 5 }), String(a)]) assert.ok(!text.includes(PASSWORD), text);
});

test('NtlmAuthenticator: typed errors for no mechanism, no credentials and a failed leg, none carrying the password', async () => {
  const credentials = new ProxyCredentials('ADJAATO\\bob', PASSWORD);
  const cases: Array<[NativeSecurityFailure, number, string]> = [
    [new NativeSecurityFailure('other', 'gss_init_sec_context', 1 << 16, 0, 'An unsupported mechanism was requested'), 0, 'ERR_JAATO_NTLM_UNAVAILABLE'],
    [new NativeSecurityFailure('no-credentials', 'gss_init_sec_context', 13 << 16, 2, 'No such file or directory'), 0, 'ERR_JAATO_NTLM_NO_CREDENTIALS'],
    [new NativeSecurityFailure('other', 'InitializeSecurityContextW', 0x80090305, 0, 'The requested security package does not exist'), 0, 'ERR_JAATO_NTLM_UNAVAILABLE'],
    [new NativeSecurityFailure('other', 'gss_init_sec_context', 9 << 16, 0, 'Defective token'), 1, 'ERR_JAATO_NTLM'],
  ];
  for (const [error, leg, code] of cases) {
    const f = fakeProvider({ leg, error });
    const a = new NtlmAuthenticator('proxy.example', { provider: f.provider, credentials, platform: 'linux' });
    const run = async (): Promise<void> => {
      await a.start();
      await a.step(Buffer.from('type2').toString('base64'));
    };
    await assert.rejects(run, (e: unknown) => {
      assert.ok(e instanceof JaatoProxyError, String(e));
      assert.equal(e.code, code);
      assert.match(e.message, /proxy\.example/);
      assert.ok(!inspect(e, { depth: 5 }).includes(PASSWORD));
      return true;
    });
    assert.ok(f.disposed() >= 1, `${code}: the context is released after a failure`);
  }
});

test('startProxyAuthenticator: Negotiate first; falls to NTLM only where Negotiate cannot make a token and NTLM is allowed', async () => {
  // Negotiate (SPNEGO) fails for want of a ticket; NTLM works.
  const provider = (spnegoFails: boolean): SecurityProvider => ({
    info: { family: 'mit', library: 'fake', version: undefined, api: 'GSSAPI' },
    inquireCredential: async () => ({ principal: undefined, lifetimeSeconds: undefined }),
    initContext: (options) => ({
      step: async () => {
        if (options.mechanism !== 'ntlm' && spnegoFails) throw new NativeSecurityFailure('no-credentials', 'gss_init_sec_context', 7 << 16, 0, 'No credentials');
        return { token: Buffer.from(options.mechanism === 'ntlm' ? 'type1' : 'spnego'), complete: false };
      },
      targetName: async () => undefined,
      dispose: () => undefined,
    }),
  });
  const base = { offered: ['negotiate', 'ntlm'], kerberos: true, spn: 'HTTP@proxy.example', proxyHost: 'proxy.example', platform: 'linux' as const };
  const ok = await startProxyAuthenticator({ ...base, setting: 'any', provider: provider(false) });
  assert.equal(ok.scheme, 'negotiate');
  const fell = await startProxyAuthenticator({ ...base, setting: 'any', provider: provider(true) });
  assert.equal(fell.scheme, 'ntlm');
  assert.match(fell.choice.reason, /Negotiate could not make a token \(ERR_JAATO_KERBEROS_NO_CREDENTIALS\)/);
  if (fell.scheme === 'ntlm') {
    assert.equal(fell.authenticator.scheme, 'NTLM');
    assert.equal(fell.token, Buffer.from('type1').toString('base64'));
    fell.authenticator.dispose();
  }
  const pinned = await startProxyAuthenticator({ ...base, setting: 'negotiate', provider: provider(true) });
  assert.equal(pinned.scheme, undefined);
  if (pinned.scheme === undefined) assert.deepEqual(pinned.errors.map((e) => e.code), ['ERR_JAATO_KERBEROS_NO_CREDENTIALS']);
});
