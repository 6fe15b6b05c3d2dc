import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { ProxyConfig } from '../../src/config/proxy-config.js';
import { parseSystemSwitch, systemKind, systemSourceWanted, type SystemProxySettings } from '../../src/config/system/settings.js';
import { registrableDomain } from '../../src/system/public-suffix.js';
import { SystemSettingsSource, systemKeyFor } from '../../src/system/system-source.js';
import { resolvConfDomain, wpadCandidates } from '../../src/system/wpad.js';

const settings = (over: Partial<SystemProxySettings>): SystemProxySettings => ({ mode: 'manual', source: 'TEST', httpProxy: 'proxy.corp:3128', httpsProxy: 'proxy.corp:3128', bypass: [], bypassName: 'list', bypassStyle: 'suffix', autoDetect: false, problems: [], ...over });

// The OS's bypass lists, as each system reads them. [style, list, host, expected rule entry or undefined]
const BYPASS: Array<['suffix' | 'wildcard', string[], string, string | undefined]> = [
  ['wildcard', ['<local>'], 'http://intranet/', '<local>'],
  ['wildcard', ['<local>'], 'http://intranet.corp/', undefined],
  ['wildcard', ['<local>'], 'http://10.1.2.3/', undefined],
  ['wildcard', ['*.corp.example'], 'http://a.corp.example/', '*.corp.example'],
  ['wildcard', ['*.corp.example'], 'http://corp.example/', undefined],
  ['wildcard', ['intranet.example'], 'http://intranet.example/', 'intranet.example'],
  ['wildcard', ['intranet.example'], 'http://www.intranet.example/', undefined],
  ['wildcard', ['10.*'], 'http://10.9.8.7/', '10.*'],
  ['wildcard', ['10.*'], 'http://110.9.8.7/', undefined],
  ['wildcard', ['*.corp.*'], 'http://x.corp.example/', '*.corp.*'],
  ['wildcard', ['host:8080'], 'http://host:8080/', 'host:8080'],
  ['wildcard', ['host:8080'], 'http://host/', undefined],
  ['suffix', ['corp.example'], 'http://a.corp.example/', 'corp.example'],
  ['suffix', ['*.corp.example'], 'http://corp.example/', '*.corp.example'],
  ['suffix', ['169.254/16'], 'http://169.254.3.4/', '169.254.0.0/16'],
  ['suffix', ['127.0.0.0/8'], 'http://127.1.2.3/', '127.0.0.0/8'],
  ['suffix', ['*.local'], 'http://printer.local/', '*.local'],
  ['suffix', ['a*b.example'], 'http://axxb.example/', 'a*b.example'],
];

test('OS bypass lists translated to the matchers: <local>, wildcards, Windows plain names, macOS short CIDR', () => {
  for (const [style, bypass, url, entry] of BYPASS) {
    const config = new ProxyConfig({ env: {}, system: settings({ bypass, bypassStyle: style }) });
    const route = config.route(url);
    if (entry === undefined) assert.equal(route.type, 'proxy', `${style} ${bypass.join(';')} ${url}`);
    else assert.deepEqual(route, { type: 'direct', rule: `TEST list entry "${entry}"` }, `${style} ${bypass.join(';')} ${url}`);
  }
});

test('the variables\' bypass lists still apply before the OS\'s; the OS\'s proxies replace the variables\'', () => {
  const config = new ProxyConfig({ env: { NO_PROXY: 'nope.example', HTTPS_PROXY: 'http://ignored:1' }, system: settings({}) });
  assert.deepEqual(config.route('https://nope.example/'), { type: 'direct', rule: 'NO_PROXY entry "nope.example"' });
  const r = config.route('https://api.example/');
  assert.equal(r.type === 'proxy' && r.proxy.origin, 'http://proxy.corp:3128');
  assert.equal(r.rule, 'TEST');
  assert.deepEqual(new ProxyConfig({ env: {}, system: settings({ mode: 'none' }) }).route('https://x/'), { type: 'direct', rule: 'TEST sets no proxy for https: URLs (mode none)' });
  const secret = new ProxyConfig({ env: {}, system: settings({ httpProxy: 'http://bob:s3cret-pw@proxy.corp:3128' }) });
  assert.equal(secret.route('http://x/').type, 'proxy');
  assert.ok(!inspect(secret, { depth: 10, showHidden: true }).includes('s3cret-pw'), 'a GNOME proxy password is nowhere a caller can print');
  assert.equal(secret.systemSource, 'TEST');
  assert.equal(new ProxyConfig({ env: {}, system: settings({}) }).kerberos, true, 'the OS\'s proxy: Negotiate with no variable, as browsers');
  assert.equal(new ProxyConfig({ env: { JAATO_KERBEROS_PROXY: 'false' }, system: settings({}) }).kerberos, false, 'unless turned off');
  assert.equal(new ProxyConfig({ env: { HTTPS_PROXY: 'http://p:1' } }).kerberos, false, 'the variables\' proxy: off unless asked for, as before');
});

test('the source is chosen: options, then JAATO_SYSTEM_PROXY, then the variables', () => {
  const rows: Array<[Record<string, string>, object, boolean]> = [
    [{}, {}, true],
    [{ HTTPS_PROXY: 'http://p:1' }, {}, false],
    [{ http_proxy: 'http://p:1' }, {}, false],
    [{ JAATO_PAC_URL: 'http://pac/' }, {}, false],
    [{ NO_PROXY: 'x' }, {}, true],
    [{ HTTPS_PROXY: 'http://p:1', JAATO_SYSTEM_PROXY: 'on' }, {}, true],
    [{ JAATO_SYSTEM_PROXY: 'off' }, {}, false],
    [{ JAATO_SYSTEM_PROXY: 'on' }, { proxy: 'http://p:1' }, false],
    [{}, { pac: 'http://pac/' }, false],
  ];
  for (const [env, explicit, expected] of rows) assert.equal(systemSourceWanted(env, explicit), expected, JSON.stringify([env, explicit]));
  assert.match(parseSystemSwitch('maybe').warning ?? '', /JAATO_SYSTEM_PROXY="maybe" is not one of on\/off\/auto/);
  assert.ok(new ProxyConfig({ env: { JAATO_SYSTEM_PROXY: 'of' } }).warnings.some((w) => w.startsWith('JAATO_SYSTEM_PROXY="of" is not one of on/off/auto')), 'explain and doctor show it');
  assert.equal(systemKind('linux', { XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' }), 'gnome');
  assert.equal(systemKind('linux', { XDG_CURRENT_DESKTOP: 'KDE' }), 'kde');
  assert.equal(systemKind('linux', {}), undefined, 'no desktop named: nothing is guessed');
  assert.equal(systemKind('win32', {}), 'windows');
  assert.equal(systemKind('darwin', {}), 'macos');
  assert.equal(systemKeyFor({}, {}, 'linux'), undefined);
  assert.equal(systemKeyFor({ JAATO_WPAD: 'on' }, {}, 'linux')?.wpad, 'on', 'JAATO_WPAD=on: WPAD without a desktop');
});

test('WPAD devolution stops at the registrable domain (public suffix list): never wpad.co.uk, wpad.com', () => {
  const rows: Array<[string, string[]]> = [
    ['a.b.corp.example.co.uk', ['wpad.a.b.corp.example.co.uk', 'wpad.b.corp.example.co.uk', 'wpad.corp.example.co.uk', 'wpad.example.co.uk']],
    ['corp.example.com', ['wpad.corp.example.com', 'wpad.example.com']],
    ['example.com', ['wpad.example.com']],
    ['com', []],
    ['co.uk', []],
    ['dept.example.com.au', ['wpad.dept.example.com.au', 'wpad.example.com.au']],
    ['x.example.ac.jp', ['wpad.x.example.ac.jp', 'wpad.example.ac.jp']],
    ['a.x.foo.kawasaki.jp', ['wpad.a.x.foo.kawasaki.jp', 'wpad.x.foo.kawasaki.jp']],
    ['corp.example.test', ['wpad.corp.example.test', 'wpad.example.test']],
  ];
  for (const [domain, expected] of rows) assert.deepEqual(wpadCandidates(domain), expected, domain);
  assert.equal(registrableDomain('www.example.co.uk'), 'example.co.uk');
  assert.equal(resolvConfDomain('nameserver 127.0.0.1\nsearch corp.example.test other.example\n'), 'corp.example.test');
  assert.equal(resolvConfDomain('domain a.example\n# search b.example\n'), 'a.example');
  assert.equal(resolvConfDomain('nameserver 1.1.1.1\n'), undefined);
});

test('settings are re-read in the background after the TTL, the request keeps the snapshot it has, and a change is a new object', async () => {
  let clock = 0;
  let type = '1';
  let reads = 0;
  let release: () => void = () => undefined;
  const rc = (): string => `[Proxy Settings]\nProxyType=${type}\nhttpProxy=http://p 1\n`;
  const source = new SystemSettingsSource({
    ttlMs: 30_000,
    now: () => clock,
    readSync: (inputs) => (reads++, inputs.map((i) => (i.kind === 'file' && i.path.endsWith('kioslaverc') ? { ok: true as const, text: rc() } : { ok: false as const, error: 'ENOENT' }))),
    read: async (inputs) => {
      reads++;
      await new Promise<void>((r) => (release = r));
      return inputs.map((i) => (i.kind === 'file' && i.path.endsWith('kioslaverc') ? { ok: true as const, text: rc() } : { ok: false as const, error: 'ENOENT' }));
    },
  });
  const key = systemKeyFor({ XDG_CURRENT_DESKTOP: 'KDE', XDG_CONFIG_HOME: '/nonexistent' }, {}, 'linux');
  assert.ok(key);
  const first = source.current(key);
  assert.equal(first.mode, 'manual');
  clock = 29_999;
  assert.equal(source.current(key), first);
  assert.equal(reads, 1, 'within the TTL: no read');
  clock = 30_000;
  type = '0';
  assert.equal(source.current(key), first, 'past the TTL: the snapshot it has, at once');
  assert.equal(reads, 2, 'and a re-read started');
  assert.equal(source.current(key), first);
  assert.equal(reads, 2, 'one re-read at a time');
  release();
  await new Promise((r) => setImmediate(r));
  const next = source.current(key);
  assert.notEqual(next, first);
  assert.equal(next.mode, 'none');

  // A re-read whose command fails keeps the last good settings (KDE's is a file: a GNOME key here).
  const gnomeKey = systemKeyFor({ XDG_CURRENT_DESKTOP: 'GNOME' }, {}, 'linux');
  assert.ok(gnomeKey);
  let fail = false;
  const gnomeSource = new SystemSettingsSource({
    now: () => clock,
    readSync: (inputs) => inputs.map((i) => (i.kind === 'run' ? { ok: true as const, text: "org.gnome.system.proxy mode 'manual'\norg.gnome.system.proxy.http host 'p'\norg.gnome.system.proxy.http port 1\n" } : { ok: false as const, error: 'ENOENT' })),
    read: async (inputs) => inputs.map((i) => (i.kind === 'run' && fail ? { ok: false as const, error: 'ETIMEDOUT' } : { ok: false as const, error: 'ENOENT' })),
  });
  const good = gnomeSource.current(gnomeKey);
  fail = true;
  assert.equal(await gnomeSource.refresh(gnomeKey), good, 'gsettings timed out: the last good settings stay');
  assert.equal(good.mode, 'manual');
});
