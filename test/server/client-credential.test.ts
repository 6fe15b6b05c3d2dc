// The pieces of serve's client authentication, as tables: which Proxy-Authorization values pass, the
// lines printed per platform, and the settings directory serve refuses to write its credential into.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_USER, newClientCredential, sentCredential, withCredential } from '../../src/server/client-credential.js';
import { clientSettings, settingsDirectory, writeSettingsFile } from '../../src/server/client-settings.js';
import { InvalidOptionError } from '../../src/config/errors.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a credential: jaato and 128 random bits, fresh each time, in a URL as userinfo', () => {
  const a = newClientCredential();
  assert.match(a, /^jaato:[0-9a-f]{32}$/);
  assert.notEqual(a, newClientCredential());
  assert.equal(withCredential('http://127.0.0.1:3128', 'jaato:abc'), 'http://jaato:abc@127.0.0.1:3128');
  assert.equal(CLIENT_USER, 'jaato');
});

test('which Proxy-Authorization values carry the credential', () => {
  const wanted = 'jaato:0123456789abcdef0123456789abcdef';
  const rows: Array<[string | undefined, boolean]> = [
    [`Basic ${b64(wanted)}`, true],
    [`basic ${b64(wanted)}`, true],
    [`BASIC  ${b64(wanted)} `, true],
    [undefined, false],
    ['', false],
    ['Basic', false],
    [`Basic ${b64(`${wanted}0`)}`, false],
    [`Basic ${b64(wanted.slice(0, -1))}`, false],
    [`Basic ${b64(wanted.toUpperCase())}`, false],
    [`Bearer ${b64(wanted)}`, false],
    [`Basic ${b64(wanted)}, Basic ${b64(wanted)}`, false],
    [`Basic ${b64(wanted)}!`, false],
    [`Negotiate ${b64(wanted)}`, false],
  ];
  for (const [header, ok] of rows) assert.equal(sentCredential(header, wanted), ok, String(header));
});

test('the settings lines: export on POSIX (both spellings: curl reads only http_proxy for http), set on Windows', () => {
  const url = 'http://jaato:x@127.0.0.1:3128';
  assert.deepEqual(clientSettings(url, 'linux'), [
    `export HTTPS_PROXY=${url}`,
    `export https_proxy=${url}`,
    `export HTTP_PROXY=${url}`,
    `export http_proxy=${url}`,
    'export NO_PROXY=localhost,127.0.0.1,::1',
    'export no_proxy=localhost,127.0.0.1,::1',
  ]);
  assert.deepEqual(clientSettings(url, 'win32'), [`set HTTPS_PROXY=${url}`, `set HTTP_PROXY=${url}`, 'set NO_PROXY=localhost,127.0.0.1,::1']);
});

test('the settings file: 0600 in a 0700 directory; a directory that is a link, open to others or another user\'s is refused', (t) => {
  const base = mkdtempSync(join(tmpdir(), 'jaato-settings-'));
  dirs.push(base);
  const written = writeSettingsFile(1234, ['export A=1'], { XDG_RUNTIME_DIR: base });
  assert.equal(written.path, join(base, 'jaato-proxy', 'serve-1234.env'));
  assert.equal(statSync(written.path).mode & 0o777, 0o600);
  assert.equal(statSync(join(base, 'jaato-proxy')).mode & 0o777, 0o700);
  // A file left by a killed run is replaced, not appended to or followed.
  const again = writeSettingsFile(1234, ['export A=2'], { XDG_RUNTIME_DIR: base });
  again.remove();
  assert.throws(() => statSync(again.path));
  written.remove();

  const open = mkdtempSync(join(tmpdir(), 'jaato-settings-'));
  dirs.push(open);
  mkdirSync(join(open, 'jaato-proxy'));
  chmodSync(join(open, 'jaato-proxy'), 0o755);
  assert.throws(() => settingsDirectory({ XDG_RUNTIME_DIR: open }), (e: unknown) => e instanceof InvalidOptionError && /not a directory of this user's alone/.test(e.message));

  const linked = mkdtempSync(join(tmpdir(), 'jaato-settings-'));
  dirs.push(linked);
  symlinkSync(base, join(linked, 'jaato-proxy'));
  assert.throws(() => settingsDirectory({ XDG_RUNTIME_DIR: linked }), InvalidOptionError);

  if (process.getuid?.() !== 0) return t.diagnostic('another owner: needs root to chown, covered when run as root');
  const theirs = mkdtempSync(join(tmpdir(), 'jaato-settings-'));
  dirs.push(theirs);
  mkdirSync(join(theirs, 'jaato-proxy'), { mode: 0o700 });
  chownSync(join(theirs, 'jaato-proxy'), 65534, 65534);
  assert.throws(() => settingsDirectory({ XDG_RUNTIME_DIR: theirs }), InvalidOptionError);
});
