// NTLM through Samba's real ntlm_auth (Debian winbind), without a proxy: our NtlmAuthenticator drives
// the helper to a NEGOTIATE message and, for a CHALLENGE built here (a structure, no cryptography), an
// AUTHENTICATE message. What is checked: the password never on the helper's command line or in its
// environment, and no helper process left behind after a handshake, a dispose() mid-handshake, an
// abort, a timeout or a crash (typed errors naming the binary and the package). The AD lab's Squid
// checks the messages themselves (test/ad/ad-ntlm.test.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { NtlmAuthenticator } from '../../src/auth/ntlm.js';
import { NtlmAuthContext } from '../../src/auth/ntlm-helper/ntlm-auth-context.js';
import { NtlmHelperError, NtlmNoCredentialsError } from '../../src/auth/ntlm-errors.js';
import { ProxyCredentials } from '../../src/config/proxy-credentials.js';
import { children, noChildrenLeft } from '../helpers/children.js';

const NTLM_AUTH = '/usr/bin/ntlm_auth';
const PASSWORD = 'S3cret!pw-4711';
const dir = mkdtempSync(join(tmpdir(), 'jaato-ntlmctx-'));

after(() => rmSync(dir, { recursive: true, force: true }));

before(() => {
  if (!existsSync(NTLM_AUTH)) throw new Error(`Samba's ntlm_auth is missing (${NTLM_AUTH}): install the Debian package winbind (scripts/setup.sh does)`);
});

/** An NTLM CHALLENGE message (MS-NLMP 2.2.1.2) for domain ADJAATO: unicode, NTLM, extended session security, target info. */
function challenge(): string {
  const name = Buffer.from('ADJAATO', 'utf16le');
  const info = Buffer.concat([Buffer.from([2, 0, name.length, 0]), name, Buffer.alloc(4)]);
  const head = Buffer.alloc(48);
  head.write('NTLMSSP\0', 0, 'latin1');
  head.writeUInt32LE(2, 8);
  head.writeUInt16LE(name.length, 12);
  head.writeUInt16LE(name.length, 14);
  head.writeUInt32LE(48, 16);
  head.writeUInt32LE((0x1 | 0x4 | 0x200 | 0x10000 | 0x80000 | 0x800000 | 0x2000000 | 0x20000000 | 0x80000000) >>> 0, 20);
  Buffer.from('0123456789abcdef', 'hex').copy(head, 24);
  head.writeUInt16LE(info.length, 40);
  head.writeUInt16LE(info.length, 42);
  head.writeUInt32LE(48 + name.length, 44);
  return Buffer.concat([head, name, info]).toString('base64');
}

/** A helper script: `body` after the shebang. */
function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, ...extra });

test('ntlm_auth: explicit DOMAIN\\user makes NEGOTIATE then AUTHENTICATE for a CHALLENGE; the password never on its command line or in its environment; no helper left', async () => {
  const seen = join(dir, 'seen');
  // In front of the real helper: writes down what it was given, then becomes it.
  const spy = script('spy', `{ echo "ARGS: $*"; env; } > ${seen}\nexec ${NTLM_AUTH} "$@"`);
  const credentials = new ProxyCredentials('ADJAATO\\bob', PASSWORD);
  const a = new NtlmAuthenticator('proxy.example', { credentials, env: env({ JAATO_NTLM_AUTH: spy, HTTPS_PROXY: `http://ADJAATO%5Cbob:${PASSWORD}@proxy.example:3128` }) });
  const negotiate = Buffer.from(await a.start(), 'base64');
  assert.equal(negotiate.subarray(0, 12).toString('latin1'), 'NTLMSSP\0\x01\0\0\0');
  const { token, done } = await a.step(challenge());
  assert.equal(done, true);
  const authenticate = Buffer.from(token ?? '', 'base64');
  assert.equal(authenticate.subarray(0, 12).toString('latin1'), 'NTLMSSP\0\x03\0\0\0');
  // The user and domain are in the AUTHENTICATE message (UTF-16), as the proxy's DC will read them.
  assert.ok(authenticate.includes(Buffer.from('bob', 'utf16le')) && authenticate.includes(Buffer.from('ADJAATO', 'utf16le')));
  const given = readFileSync(seen, 'utf8');
  assert.match(given, /^ARGS: --helper-protocol=ntlmssp-client-1 --debuglevel=0 --username=bob --domain=ADJAATO$/m);
  assert.ok(!given.includes(PASSWORD) && !given.includes(Buffer.from(PASSWORD).toString('base64')), given);
  assert.doesNotMatch(given, /PROXY/);
  assert.ok(!inspect(a, { depth: 5, showHidden: true }).includes(PASSWORD));
  await noChildrenLeft('after a completed handshake');
});

test('ntlm_auth: NTLM_USER_FILE\'s first line is the credentials (existing gss-ntlmssp users keep working); a missing file is NtlmNoCredentialsError before any helper starts', async () => {
  const file = join(dir, 'users');
  writeFileSync(file, `# ours\nADJAATO:bob:${PASSWORD}\nOTHER:eve:x\n`, { mode: 0o600 });
  const a = new NtlmAuthenticator('proxy.example', { env: env({ NTLM_USER_FILE: file }) });
  await a.start();
  const authenticate = Buffer.from((await a.step(challenge())).token ?? '', 'base64');
  assert.ok(authenticate.includes(Buffer.from('bob', 'utf16le')) && !authenticate.includes(Buffer.from('eve', 'utf16le')));
  await assert.rejects(new NtlmAuthenticator('proxy.example', { env: env({ NTLM_USER_FILE: join(dir, 'nope') }) }).start(), (e: unknown) => {
    assert.ok(e instanceof NtlmNoCredentialsError, String(e));
    assert.match(e.message, /NTLM_USER_FILE .*nope cannot be read \(ENOENT\)/);
    return true;
  });
  await noChildrenLeft('after the user file\'s handshake');
});

test('ntlm_auth: no credentials and a winbindd that holds none for the user: NtlmNoCredentialsError at the CHALLENGE, no helper left', async () => {
  // ntlm_auth's --use-cached-creds asks winbindd, and none answers here: as a winbindd without this user's credentials would.
  const a = new NtlmAuthenticator('proxy.example', { env: env({ USER: 'nobody-here' }), winbindRunning: () => true });
  await a.start();
  await assert.rejects(a.step(challenge()), (e: unknown) => {
    assert.ok(e instanceof NtlmNoCredentialsError, String(e));
    assert.match(e.message, /winbind holds no cached credentials/);
    return true;
  });
  await noChildrenLeft('after a refusal');
});

test('ntlm_auth: no credentials, no NTLM_USER_FILE and no winbindd: NtlmNoCredentialsError before any helper starts', async () => {
  const ran = join(dir, 'ran');
  const spy = script('spy-never', `touch ${ran}\nexec ${NTLM_AUTH} "$@"`);
  const a = new NtlmAuthenticator('proxy.example', { env: env({ JAATO_NTLM_AUTH: spy }), winbindRunning: () => false });
  await assert.rejects(a.start(), (e: unknown) => {
    assert.ok(e instanceof NtlmNoCredentialsError, String(e));
    assert.match(e.message, /no winbindd here/);
    assert.match(e.message, /NTLM_USER_FILE/);
    return true;
  });
  assert.equal(existsSync(ran), false, 'the helper was started');
});

test('ntlm_auth: dispose() between NEGOTIATE and CHALLENGE kills the helper', async () => {
  const a = new NtlmAuthenticator('proxy.example', { credentials: new ProxyCredentials('ADJAATO\\bob', PASSWORD), env: env() });
  await a.start();
  assert.equal(children().length, 1, 'the helper waits for the CHALLENGE');
  a.dispose();
  await noChildrenLeft('after dispose() mid-handshake');
});

test('ntlm_auth: a helper left waiting for the challenge (its connection lost, nobody disposing) is ended after its idle bound; a late step is NtlmHelperError', async () => {
  const context = new NtlmAuthContext({ binary: NTLM_AUTH, proxyHost: 'proxy.example', credentials: new ProxyCredentials('ADJAATO\\bob', PASSWORD), timeout: 30_000, env: env(), idleTimeout: 300 });
  const negotiate = await context.step(undefined);
  assert.equal(negotiate.complete, false);
  await noChildrenLeft('after the idle bound');
  await assert.rejects(context.step(Buffer.from(challenge(), 'base64')), (e: unknown) => {
    assert.ok(e instanceof NtlmHelperError, String(e));
    assert.match(e.message, /was ended: the proxy's challenge had not come 300 ms after the NEGOTIATE message/);
    return true;
  });
});

test('ntlm_auth: DOMAIN\\user with an empty password is that user\'s winbind cached credentials, not an empty password; a NUL in a password is refused before any helper starts', async () => {
  const seen = join(dir, 'seen-empty');
  const spy = script('spy-empty', `echo "ARGS: $*" > ${seen}\nexec ${NTLM_AUTH} "$@"`);
  const empty = new NtlmAuthenticator('proxy.example', { credentials: new ProxyCredentials('ADJAATO\\bob', ''), env: env({ JAATO_NTLM_AUTH: spy }), winbindRunning: () => true });
  await empty.start();
  assert.match(readFileSync(seen, 'utf8'), /^ARGS: --helper-protocol=ntlmssp-client-1 --debuglevel=0 --use-cached-creds --username=bob --domain=ADJAATO$/m);
  await assert.rejects(empty.step(challenge()), (e: unknown) => e instanceof NtlmNoCredentialsError && /winbind holds no cached credentials/.test(e.message));
  await noChildrenLeft('after the cached-credentials refusal');
  const noWinbind = new NtlmAuthenticator('proxy.example', { credentials: new ProxyCredentials('ADJAATO\\bob', ''), env: env(), winbindRunning: () => false });
  await assert.rejects(noWinbind.start(), (e: unknown) => e instanceof NtlmNoCredentialsError && /no winbindd here/.test(e.message));
  const ran = join(dir, 'ran-nul');
  const never = script('spy-nul', `touch ${ran}\nexec ${NTLM_AUTH} "$@"`);
  const nul = new NtlmAuthenticator('proxy.example', { credentials: new ProxyCredentials('ADJAATO\\bob', 'pa\u0000ss'), env: env({ JAATO_NTLM_AUTH: never }) });
  await assert.rejects(nul.start(), (e: unknown) => e instanceof NtlmNoCredentialsError && /contains a NUL character/.test(e.message));
  assert.equal(existsSync(ran), false, 'the helper was started');
});

test('ntlm_auth: dispose() while start() still reads NTLM_USER_FILE: start() rejects, and no helper is ever started', async () => {
  const file = join(dir, 'users-dispose');
  writeFileSync(file, `ADJAATO:bob:${PASSWORD}\n`, { mode: 0o600 });
  const ran = join(dir, 'ran-dispose');
  const spy = script('spy-dispose', `touch ${ran}\nexec ${NTLM_AUTH} "$@"`);
  const a = new NtlmAuthenticator('proxy.example', { env: env({ NTLM_USER_FILE: file, JAATO_NTLM_AUTH: spy }) });
  const started = a.start();
  a.dispose();
  await assert.rejects(started, { code: 'ERR_JAATO_NTLM', message: /disposed before its NEGOTIATE message/ });
  assert.equal(existsSync(ran), false, 'a helper was started after dispose()');
  await noChildrenLeft('after dispose() during start()');
});

test('ntlm_auth: an abort during a leg rejects with the signal\'s reason and kills the helper', async () => {
  const hung = script('hung-abort', 'exec cat > /dev/null');
  const controller = new AbortController();
  const a = new NtlmAuthenticator('proxy.example', { credentials: new ProxyCredentials('ADJAATO\\bob', PASSWORD), env: env({ JAATO_NTLM_AUTH: hung }), signal: controller.signal });
  const started = a.start();
  const deadline = Date.now() + 10_000;
  while (children().length === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  const reason = new Error('the caller gave up');
  controller.abort(reason);
  await assert.rejects(started, (e: unknown) => e === reason);
  await noChildrenLeft('after an abort');
});

test('ntlm_auth: a helper that never answers is NtlmHelperError after the timeout, naming the binary and winbind; it is killed', async () => {
  const hung = script('hung', 'exec cat > /dev/null');
  const a = new NtlmAuthenticator('proxy.example', { credentials: new ProxyCredentials('ADJAATO\\bob', PASSWORD), env: env({ JAATO_NTLM_AUTH: hung }), timeout: 1_000 });
  await assert.rejects(a.start(), (e: unknown) => {
    assert.ok(e instanceof NtlmHelperError, String(e));
    assert.equal(e.code, 'ERR_JAATO_NTLM_HELPER');
    assert.equal(e.binary, hung);
    assert.match(e.message, /did not answer within 1000 ms/);
    assert.match(e.message, /winbind/);
    return true;
  });
  await noChildrenLeft('after a timeout');
});

test('ntlm_auth: a helper that dies is NtlmHelperError with its stderr, the password and any NTLM message taken out', async () => {
  const dying = script('dying', `read line\necho "failing for ${PASSWORD} $(printf %s '${PASSWORD}' | base64) TlRMTVNTUAABAAAABYIIYgAAAAAoAAAAAAAAACgAAAAGAQAAAAAADw==" >&2\nexit 3`);
  // The password reaches the stderr of this stand-in only because it is written into it: the redaction is what is tested.
  const a = new NtlmAuthenticator('proxy.example', { credentials: new ProxyCredentials('ADJAATO\\bob', PASSWORD), env: env({ JAATO_NTLM_AUTH: dying }) });
  await assert.rejects(a.start(), (e: unknown) => {
    assert.ok(e instanceof NtlmHelperError, String(e));
    assert.match(e.message, /exited with code 3 before it answered/);
    assert.match(e.libraryMessage, /failing for \*\*\*\* \*\*\*\* <base64>/);
    assert.ok(!inspect(e, { depth: 5 }).includes(PASSWORD));
    return true;
  });
  await noChildrenLeft('after a crash');
});

test('ntlm_auth: a helper gone between its lookup and its start is NtlmHelperError "could not be started (ENOENT)", naming it and winbind', async () => {
  const binary = join(dir, 'removed', 'ntlm_auth');
  const context = new NtlmAuthContext({ binary, proxyHost: 'proxy.example', credentials: new ProxyCredentials('ADJAATO\\bob', PASSWORD), timeout: 10_000, env: env() });
  await assert.rejects(context.step(undefined), (e: unknown) => {
    assert.ok(e instanceof NtlmHelperError, String(e));
    assert.equal(e.binary, binary);
    assert.match(e.message, /could not be started \(ENOENT\) before it answered: check .*ntlm_auth.*winbind/);
    return true;
  });
  await noChildrenLeft('after a failed start');
});
