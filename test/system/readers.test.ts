import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGVariant, gnomeReader } from '../../src/system/readers/gnome.js';
import { kdeReader } from '../../src/system/readers/kde.js';
import { macosReader, parseScutilProxy } from '../../src/system/readers/macos.js';
import { autoDetectFlag, parseProxyServer, parseRegQuery, windowsReader, WINDOWS_MACHINE_SOURCE, WINDOWS_USER_SOURCE } from '../../src/system/readers/windows.js';
import type { ReaderOutput } from '../../src/system/reader.js';

const ok = (text: string): ReaderOutput => ({ ok: true, text });
const missing: ReaderOutput = { ok: false, error: 'ERROR: The system was unable to find the specified registry key or value.' };

// Recorded from macOS 14 (Sonoma) with a PAC, HTTP/HTTPS proxies and exceptions set in System Settings.
const SCUTIL_MANUAL = `<dictionary> {
  ExceptionsList : <array> {
    0 : *.local
    1 : 169.254/16
    2 : corp.example
  }
  ExcludeSimpleHostnames : 1
  FTPPassive : 1
  HTTPEnable : 1
  HTTPPort : 3128
  HTTPProxy : proxy.corp.example
  HTTPSEnable : 1
  HTTPSPort : 3129
  HTTPSProxy : proxy-s.corp.example
  ProxyAutoConfigEnable : 0
  ProxyAutoDiscoveryEnable : 0
  __SCOPED__ : <dictionary> {
    en0 : <dictionary> {
      HTTPEnable : 1
      HTTPProxy : other.example
    }
  }
}
`;
const SCUTIL_PAC = `<dictionary> {
  ExcludeSimpleHostnames : 0
  HTTPEnable : 0
  HTTPSEnable : 0
  ProxyAutoConfigEnable : 1
  ProxyAutoConfigURLString : http://pac.corp.example/proxy.pac
  ProxyAutoDiscoveryEnable : 0
}
`;
const SCUTIL_WPAD = `<dictionary> {
  HTTPEnable : 0
  ProxyAutoDiscoveryEnable : 1
}
`;
const SCUTIL_NONE = `<dictionary> {
  ExceptionsList : <array> {
    0 : *.local
    1 : 169.254/16
  }
  FTPPassive : 1
}
`;

test('macOS scutil --proxy: recorded outputs → one settings shape', () => {
  assert.deepEqual(parseScutilProxy(SCUTIL_MANUAL).get('ExceptionsList'), ['*.local', '169.254/16', 'corp.example']);
  assert.equal(parseScutilProxy(SCUTIL_MANUAL).get('HTTPProxy'), 'proxy.corp.example', 'the top level, not a __SCOPED__ interface');
  const rows: Array<[string, string, object]> = [
    [SCUTIL_MANUAL, 'manual', { httpProxy: 'proxy.corp.example:3128', httpsProxy: 'proxy-s.corp.example:3129', bypass: ['*.local', '169.254/16', 'corp.example', '<local>'], autoDetect: false }],
    [SCUTIL_PAC, 'pac', { pacUrl: 'http://pac.corp.example/proxy.pac', bypass: [], autoDetect: false }],
    [SCUTIL_WPAD, 'auto-detect', { bypass: [], autoDetect: true }],
    [SCUTIL_NONE, 'none', { bypass: ['*.local', '169.254/16'], autoDetect: false }],
  ];
  for (const [text, mode, fields] of rows) {
    const s = macosReader.parse([ok(text)], {});
    assert.equal(s.mode, mode, text);
    assert.equal(s.source, 'macOS System Configuration (scutil --proxy)');
    const record: Record<string, unknown> = { ...s };
    for (const [k, v] of Object.entries(fields)) assert.deepEqual(record[k], v, `${mode} ${k}`);
  }
  assert.match(macosReader.parse([{ ok: false, error: 'ENOENT: not installed' }], {}).problems[0] ?? '', /scutil --proxy could not be run/);
});

// Recorded from Windows 11 (reg.exe) and Wine 8 (its reg.exe prints the same layout).
const REG_USER = `
HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings
    CertificateRevocation    REG_DWORD    0x1
    ProxyEnable    REG_DWORD    0x1
    ProxyServer    REG_SZ    http=proxy.corp.example:3128;https=proxy-s.corp.example:3129;ftp=ftp.corp.example:21
    ProxyOverride    REG_SZ    <local>;*.corp.example;10.*;intranet
    AutoConfigURL    REG_SZ    
    User Agent    REG_SZ    Mozilla/4.0 (compatible; MSIE 8.0; Win32)

HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections
`;
const REG_MACHINE = `\r
HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\r
    ProxyEnable    REG_DWORD    0x0\r
    AutoConfigURL    REG_SZ    http://pac.corp.example/wpad.pac\r
`;
const REG_POLICY = `
HKEY_LOCAL_MACHINE\\Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings
    ProxySettingsPerUser    REG_DWORD    0x0
`;
// Byte 8 = 0x09: direct (0x01) and "Automatically detect settings" (0x08).
const REG_CONNECTIONS_AUTO = `
HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections
    DefaultConnectionSettings    REG_BINARY    46000000050000000900000000000000
`;
const REG_TCPIP = `
HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters
    Domain    REG_SZ    emea.corp.example
    SearchList    REG_SZ    
`;
const REG_TCPIP_DHCP = `
HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters
    Domain    REG_SZ    
    DhcpDomain    REG_SZ    branch.corp.example
`;

test('Windows reg query: values, ProxyServer forms, the auto-detect byte', () => {
  const v = parseRegQuery(REG_USER);
  assert.equal(v.get('proxyserver')?.data, 'http=proxy.corp.example:3128;https=proxy-s.corp.example:3129;ftp=ftp.corp.example:21');
  assert.equal(v.get('autoconfigurl')?.data, '', 'an empty REG_SZ');
  assert.equal(v.get('user agent')?.data, 'Mozilla/4.0 (compatible; MSIE 8.0; Win32)', 'a name with a space');
  assert.equal(parseRegQuery(REG_MACHINE).get('autoconfigurl')?.data, 'http://pac.corp.example/wpad.pac', 'CRLF output');
  const servers: Array<[string, object]> = [
    ['proxy.corp.example:8080', { httpProxy: 'proxy.corp.example:8080', httpsProxy: 'proxy.corp.example:8080' }],
    ['http=a:1;https=b:2', { httpProxy: 'a:1', httpsProxy: 'b:2' }],
    ['http=a:1', { httpProxy: 'a:1' }],
    ['https=http://b:2;socks=s:1080', { httpsProxy: 'http://b:2' }],
    ['', {}],
  ];
  for (const [value, expected] of servers) assert.deepEqual(parseProxyServer(value), expected, value);
  assert.equal(autoDetectFlag('46000000050000000900000000000000'), true);
  assert.equal(autoDetectFlag('46000000050000000100000000000000'), false);
  assert.equal(autoDetectFlag('4600'), false);
});

test('Windows settings: per user, per machine by policy, auto-detect, and the DNS domain for WPAD', () => {
  const user = windowsReader.parse([missing, ok(REG_USER), missing, ok(REG_MACHINE), missing, ok(REG_TCPIP)], {});
  assert.deepEqual(
    { mode: user.mode, source: user.source, http: user.httpProxy, https: user.httpsProxy, bypass: user.bypass, style: user.bypassStyle, domain: user.dnsDomain },
    { mode: 'manual', source: WINDOWS_USER_SOURCE, http: 'proxy.corp.example:3128', https: 'proxy-s.corp.example:3129', bypass: ['<local>', '*.corp.example', '10.*', 'intranet'], style: 'wildcard', domain: 'emea.corp.example' },
  );
  const machine = windowsReader.parse([ok(REG_POLICY), ok(REG_USER), missing, ok(REG_MACHINE), missing, missing], {});
  assert.deepEqual([machine.mode, machine.source, machine.pacUrl], ['pac', WINDOWS_MACHINE_SOURCE, 'http://pac.corp.example/wpad.pac']);
  const auto = windowsReader.parse([missing, ok(REG_USER), ok(REG_CONNECTIONS_AUTO), missing, missing, missing], {});
  assert.equal(auto.mode, 'auto-detect', 'auto-detect goes first, as in Internet Options');
  assert.equal(windowsReader.parse([missing, ok(REG_USER), missing, missing, missing, ok(REG_TCPIP_DHCP)], {}).dnsDomain, 'branch.corp.example', 'the suffix DHCP gave');
  const nothing = windowsReader.parse([missing, missing, missing, missing, missing, missing], {});
  assert.equal(nothing.mode, 'none');
  assert.match(nothing.problems[0] ?? '', /reg query HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings failed/);
});

test('GNOME gsettings: GVariant values and modes', () => {
  const values: Array<[string, unknown]> = [
    ["'manual'", 'manual'],
    ["''", ''],
    ['3128', 3128],
    ['true', true],
    ["['localhost', '127.0.0.0/8', \"it's\", 'a\\'b']", ['localhost', '127.0.0.0/8', "it's", "a'b"]],
    ['@as []', []],
  ];
  for (const [text, expected] of values) assert.deepEqual(parseGVariant(text), expected, text);
  const list = (mode: string, extra = ''): ReaderOutput =>
    ok(`org.gnome.system.proxy autoconfig-url ''\norg.gnome.system.proxy ignore-hosts ['localhost', '*.corp']\norg.gnome.system.proxy mode '${mode}'\norg.gnome.system.proxy.http host 'proxy.corp'\norg.gnome.system.proxy.http port 3128\norg.gnome.system.proxy.https host ''\norg.gnome.system.proxy.https port 0\n${extra}`);
  const manual = gnomeReader.parse([list('manual')], {});
  assert.deepEqual([manual.mode, manual.httpProxy, manual.httpsProxy, manual.bypass], ['manual', 'proxy.corp:3128', 'proxy.corp:3128', ['localhost', '*.corp']], 'https falls back to http, as GLib does');
  const authed = gnomeReader.parse([list('manual', "org.gnome.system.proxy.http use-authentication true\norg.gnome.system.proxy.http authentication-user 'bob'\norg.gnome.system.proxy.http authentication-password 'p@ss'\n")], {});
  assert.equal(authed.httpProxy, 'http://bob:p%40ss@proxy.corp:3128');
  assert.equal(gnomeReader.parse([list('auto')], {}).mode, 'auto-detect', 'auto with no autoconfig-url: WPAD');
  assert.equal(gnomeReader.parse([list('none')], {}).mode, 'none');
  assert.match(gnomeReader.parse([{ ok: false, error: 'ENOENT: not installed' }], {}).problems[0] ?? '', /libglib2\.0-bin/);
});

test('KDE kioslaverc: ProxyType 0-4, the space before the port, [$e] markers', () => {
  const rc = (body: string): ReaderOutput => ok(`[Proxy Settings]\n${body}\n[Other]\nProxyType=1\n`);
  const manual = kdeReader.parse([rc('ProxyType=1\nhttpProxy[$e]=http://proxy.corp 3128\nhttpsProxy=proxy.corp:3129\nNoProxyFor=localhost,.corp ::1')], {});
  assert.deepEqual([manual.mode, manual.httpProxy, manual.httpsProxy, manual.bypass], ['manual', 'http://proxy.corp:3128', 'proxy.corp:3129', ['localhost', '.corp', '::1']]);
  assert.deepEqual([kdeReader.parse([rc('ProxyType=2\nProxy Config Script=http://pac/x.pac')], {}).pacUrl], ['http://pac/x.pac']);
  assert.equal(kdeReader.parse([rc('ProxyType=3')], {}).mode, 'auto-detect');
  assert.equal(kdeReader.parse([rc('ProxyType=0\nhttpProxy=http://p 1')], {}).mode, 'none');
  assert.match(kdeReader.parse([rc('ProxyType=4')], {}).problems[0] ?? '', /use the environment/);
  assert.deepEqual(kdeReader.parse([{ ok: false, error: "ENOENT: no such file or directory, open '/x/kioslaverc'" }], {}).problems, [], 'no file: KDE never set a proxy');
});
