import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyConfig } from '../../src/config/proxy-config.js';
import { SystemSettingsSource, systemKeyFor } from '../../src/system/system-source.js';
import type { ReaderInput, ReaderOutput } from '../../src/system/reader.js';
import { requireTool } from '../system/desktop-session.js';

// Windows' Internet Settings written with Wine's `reg add` and read back by the Windows reader through
// Wine's real `reg query` (the reader's commands, each run as `wine reg ...`), in a prefix of this
// test's own: what a Windows machine's registry holds becomes the route and its rule.
let prefix: string;
const wineEnv = (): NodeJS.ProcessEnv => ({ ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', WINEARCH: 'win64' });

before(async () => {
  await requireTool('wine', ['--version'], 'wine (scripts/setup-wine.sh installs it)');
  prefix = await mkdtemp(join(tmpdir(), 'jaato-wine-reg-'));
  await new Promise<void>((resolve, reject) => execFile('wine', ['wineboot', '-i'], { env: wineEnv(), timeout: 180_000 }, (e) => (e ? reject(e) : resolve())));
});
after(async () => {
  if (!prefix) return;
  execFileSync('wineserver', ['-k'], { env: wineEnv(), stdio: 'ignore' });
  await rm(prefix, { recursive: true, force: true });
});

const SETTINGS = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings';

function regAdd(key: string, name: string, type: string, data: string): void {
  execFileSync('wine', ['reg', 'add', key, '/v', name, '/t', type, '/d', data, '/f'], { env: wineEnv(), stdio: 'ignore' });
}

/** The reader's inputs run under Wine: `reg` is Wine's reg.exe. */
function underWine(inputs: readonly ReaderInput[]): ReaderOutput[] {
  return inputs.map((input): ReaderOutput => {
    if (input.kind === 'file') return { ok: false, error: 'ENOENT' };
    try {
      return { ok: true, text: execFileSync('wine', [input.file, ...input.args], { env: wineEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
    } catch (error) {
      return { ok: false, error: String((error as { stderr?: string }).stderr ?? error).trim() };
    }
  });
}

function read(): ReturnType<SystemSettingsSource['current']> {
  const key = systemKeyFor({}, {}, 'win32');
  assert.ok(key);
  return new SystemSettingsSource({ readSync: underWine }).current(key);
}

test('Wine registry, per user: ProxyEnable + per-scheme ProxyServer + ProxyOverride with <local> and wildcards → routes naming "Windows Internet Options, per user"', () => {
  regAdd(SETTINGS, 'ProxyEnable', 'REG_DWORD', '1');
  regAdd(SETTINGS, 'ProxyServer', 'REG_SZ', 'http=proxy.corp.example:3128;https=proxy-s.corp.example:3129');
  regAdd(SETTINGS, 'ProxyOverride', 'REG_SZ', '<local>;*.intranet.example;10.*');
  regAdd('HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters', 'SearchList', 'REG_SZ', 'emea.corp.example');
  const settings = read();
  assert.deepEqual(
    { mode: settings.mode, source: settings.source, http: settings.httpProxy, https: settings.httpsProxy, bypass: settings.bypass, domain: settings.dnsDomain, problems: settings.problems },
    { mode: 'manual', source: 'Windows Internet Options, per user', http: 'proxy.corp.example:3128', https: 'proxy-s.corp.example:3129', bypass: ['<local>', '*.intranet.example', '10.*'], domain: 'emea.corp.example', problems: [] },
  );
  const config = new ProxyConfig({ env: {}, system: settings });
  const route = config.route('https://api.example.com/');
  assert.equal(route.type === 'proxy' && route.proxy.origin, 'http://proxy-s.corp.example:3129');
  assert.equal(route.rule, 'Windows Internet Options, per user');
  assert.deepEqual(config.route('http://wiki/'), { type: 'direct', rule: 'Windows Internet Options, per user ProxyOverride entry "<local>"' });
  assert.deepEqual(config.route('https://a.intranet.example/'), { type: 'direct', rule: 'Windows Internet Options, per user ProxyOverride entry "*.intranet.example"' });
});

test('Wine registry: AutoConfigURL → the PAC; the auto-detect bit in DefaultConnectionSettings → WPAD first; ProxySettingsPerUser=0 → the machine\'s key', () => {
  regAdd(SETTINGS, 'AutoConfigURL', 'REG_SZ', 'http://pac.corp.example/proxy.pac');
  assert.deepEqual([read().mode, read().pacUrl], ['pac', 'http://pac.corp.example/proxy.pac']);
  regAdd(`${SETTINGS}\\Connections`, 'DefaultConnectionSettings', 'REG_BINARY', '460000000a0000000900000000000000');
  assert.equal(read().mode, 'auto-detect');
  regAdd('HKLM\\Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings', 'ProxySettingsPerUser', 'REG_DWORD', '0');
  regAdd('HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings', 'ProxyEnable', 'REG_DWORD', '1');
  regAdd('HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings', 'ProxyServer', 'REG_SZ', 'machine-proxy.corp.example:8080');
  const machine = read();
  assert.deepEqual([machine.mode, machine.source, machine.httpsProxy], ['manual', 'Windows Internet Options, per machine (policy ProxySettingsPerUser=0)', 'machine-proxy.corp.example:8080']);
});
