import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startAdLab, type AdLab } from '../../lab/ad.js';
import { APP, checkWineHarness, installBuiltLibrary, ROOT, runWindowsNode, stopWineServer, windowsPath } from './windows-node.js';

/**
 * SSPI's NTLM package through the built library's NtlmAuthenticator, by Node for Windows under Wine.
 * Wine's NTLM runs Samba's `ntlm_auth` as its client. With explicit `DOMAIN\user` credentials
 * (SEC_WINNT_AUTH_IDENTITY_W) it does the whole handshake, here against the AD lab's Squid, which
 * checks it with the DC. With the logged-on user's, Wine asks winbind's cache (`--use-cached-creds`),
 * which a machine outside a domain has not: the NEGOTIATE message comes, the AUTHENTICATE message
 * cannot (measured with WINEDEBUG=+ntlm: ntlm_auth answers "NA NT code 0x80090302" and Wine returns
 * SEC_E_INVALID_TOKEN). On Windows the logged-on user signs it.
 */
// A CHALLENGE message the AD lab's Squid sent (domain ADJAATO): nothing secret, a server's nonce.
const CHALLENGE = 'TlRMTVNTUAACAAAABwAHADgAAAAGgokCBsgt0WAO1uYAAAAAAAAAADgAOAA/AAAABgEAAAAAAA9BREpBQVRPAgAOAEEARABKAEEAQQBUAE8AAQAGAEQAQwAxAAQAAAADAAQAdgBtAAcACADkEOfsbIbdAQAAAAA=';

interface Message {
  signature?: string;
  messageType?: number;
  domain?: string;
  user?: string;
}
interface ErrorInfo {
  name: string;
  code?: string;
  call?: string;
  major?: number;
}
interface Result extends Message {
  platform: string;
  library?: string;
  tokenLength?: number;
  step?: Message & { done?: boolean; error?: ErrorInfo };
  handshake?: { statuses: number[]; authenticate?: Message };
  error?: ErrorInfo & { message: string };
}

// In a describe: Node 20 runs a file's top-level before hooks side by side, not in order.
describe('Windows SSPI NTLM under Wine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jaato-wine-ntlm-'));
  let lab: AdLab;
  let n = 0;

  async function client(config: Record<string, unknown>, options: { env?: Record<string, string>; netns?: string } = {}): Promise<Result> {
    const library = join(APP, 'node_modules', 'jaato-proxy', 'dist', 'auth', 'index.js');
    const out = join(dir, `result-${++n}.json`);
    const run = await runWindowsNode(join(APP, 'ntlm-client.mjs'), [windowsPath(library), windowsPath(out), JSON.stringify(config)], { ...options, outBase: join(dir, `ntlm-${n}`), timeoutMs: 60_000 });
    assert.equal(run.code, 0, `node.exe exited ${run.code ?? run.signal}:\n${run.stdout}\n${run.stderr}`);
    return JSON.parse(readFileSync(out, 'utf8')) as Result;
  }

  before(async () => {
    checkWineHarness();
    if (!existsSync('/usr/bin/ntlm_auth')) throw new Error('Wine\'s NTLM runs Samba\'s ntlm_auth: install the Debian package winbind (scripts/setup.sh does)');
    installBuiltLibrary();
    copyFileSync(join(ROOT, 'test', 'wine', 'ntlm-client.mjs'), join(APP, 'ntlm-client.mjs'));
    lab = await startAdLab();
  });
  after(async () => {
    stopWineServer();
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('explicit DOMAIN\\user: the three messages on one connection through the AD lab\'s Squid, which logs the domain user', async () => {
    const from = lab.accessLog().length;
    const user = `${lab.netbiosDomain}\\${lab.users.user.name}`;
    // Squid listens on 127.0.0.1:3128 inside the lab's namespace; its own port is the CONNECT's target.
    const r = await client({ proxy: '127.0.0.1:3128', target: '127.0.0.1:3128', user }, { env: { JAATO_TEST_PASSWORD: lab.users.user.password }, netns: lab.netns });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.deepEqual(r.handshake?.statuses, [407, 200]);
    assert.deepEqual([r.handshake?.authenticate?.messageType, r.handshake?.authenticate?.domain, r.handshake?.authenticate?.user], [3, lab.netbiosDomain, lab.users.user.name]);
    const passed = lab.accessLog().slice(from).filter((l) => l.method === 'CONNECT' && l.status === 200).map((l) => l.user);
    assert.deepEqual(passed, [user]);
  });

  test('explicit credentials with a wrong password: Squid (the DC) refuses the AUTHENTICATE message', async () => {
    const r = await client({ proxy: '127.0.0.1:3128', target: '127.0.0.1:3128', user: `${lab.netbiosDomain}\\${lab.users.user.name}` }, { env: { JAATO_TEST_PASSWORD: 'not-the-password' }, netns: lab.netns });
    assert.deepEqual(r.handshake?.statuses, [407, 407], JSON.stringify(r));
  });

  test('the logged-on user: the NEGOTIATE message (type 1); the CHALLENGE then needs winbind\'s cached credentials, typed as NtlmError naming the SSPI call', async () => {
    const r = await client({ challenge: CHALLENGE });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.deepEqual([r.platform, r.library, r.signature, r.messageType], ['win32', 'secur32.dll', 'NTLMSSP\\0', 1]);
    const e = r.step?.error;
    assert.deepEqual(e && [e.name, e.code, e.call, e.major], ['NtlmError', 'ERR_JAATO_NTLM', 'InitializeSecurityContextW', 0x80090308]);
  });
});
