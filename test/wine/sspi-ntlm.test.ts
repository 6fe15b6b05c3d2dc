import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { APP, checkWineHarness, installBuiltLibrary, ROOT, runWindowsNode, windowsPath } from './windows-node.js';

/**
 * SSPI's NTLM package through the built library's NtlmAuthenticator, under Wine: the first leg only.
 * Wine's NTLM takes the logged-on user's credentials from winbind's cache (`ntlm_auth
 * --use-cached-creds`), which a machine that is not a domain member has not: its NEGOTIATE message
 * comes (ntlm_auth makes it without credentials), the AUTHENTICATE message cannot (measured with
 * WINEDEBUG=+ntlm: the challenge reaches ntlm_auth, which answers "NA NT code 0x80090302", and Wine
 * returns SEC_E_INVALID_TOKEN). The full handshake is tested against the AD lab with GSSAPI
 * (test/ad/ad-ntlm.test.ts); on Windows the logged-on user signs it.
 */
// A CHALLENGE message the AD lab's Squid sent (domain ADJAATO): nothing secret, a server's nonce.
const CHALLENGE = 'TlRMTVNTUAACAAAABwAHADgAAAAGgokCBsgt0WAO1uYAAAAAAAAAADgAOAA/AAAABgEAAAAAAA9BREpBQVRPAgAOAEEARABKAEEAQQBUAE8AAQAGAEQAQwAxAAQAAAADAAQAdgBtAAcACADkEOfsbIbdAQAAAAA=';

interface Result {
  platform: string;
  library?: string;
  tokenLength?: number;
  signature?: string;
  messageType?: number;
  step?: { done?: boolean; messageType?: number; error?: { name: string; code?: string; call?: string; major?: number } };
  error?: { name: string; code?: string; message: string };
}

describe('Windows SSPI NTLM under Wine', () => {
  before(() => {
    checkWineHarness();
    if (!existsSync('/usr/bin/ntlm_auth')) throw new Error('Wine\'s NTLM runs Samba\'s ntlm_auth: install the Debian package winbind (scripts/setup.sh does)');
  });
  const dir = mkdtempSync(join(tmpdir(), 'jaato-wine-ntlm-'));
  let result: Result;

  before(async () => {
    installBuiltLibrary();
    copyFileSync(join(ROOT, 'test', 'wine', 'ntlm-client.mjs'), join(APP, 'ntlm-client.mjs'));
    const library = join(APP, 'node_modules', 'jaato-proxy', 'dist', 'auth', 'index.js');
    const out = join(dir, 'result.json');
    const run = await runWindowsNode(join(APP, 'ntlm-client.mjs'), [windowsPath(library), windowsPath(out), CHALLENGE], { outBase: join(dir, 'ntlm'), timeoutMs: 45_000 });
    assert.equal(run.code, 0, `node.exe exited ${run.code ?? run.signal}:\n${run.stdout}\n${run.stderr}`);
    result = JSON.parse(readFileSync(out, 'utf8')) as Result;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the NTLM package loads through secur32.dll and makes the NEGOTIATE message (type 1)', () => {
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.deepEqual([result.platform, result.library, result.signature, result.messageType], ['win32', 'secur32.dll', 'NTLMSSP\\0', 1]);
  });

  test('the CHALLENGE reaches the package; without winbind\'s cached credentials Wine refuses it, typed as NtlmError naming the SSPI call', () => {
    assert.deepEqual(result.step?.error && [result.step.error.name, result.step.error.code, result.step.error.call, result.step.error.major], ['NtlmError', 'ERR_JAATO_NTLM', 'InitializeSecurityContextW', 0x80090308]);
  });
});
