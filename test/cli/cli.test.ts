import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EchoReply } from '../../lab/origin.js';
import { useLab } from '../helpers/lab.js';
import { curl, labEnv, ROOT, runCli } from './helpers.js';

const ctx = useLab();
const caFile = (): string => {
  const path = join(ctx.lab.dir, 'cli-ca.pem');
  writeFileSync(path, ctx.lab.ca);
  return path;
};

test('--version, --help, usage errors: exit codes and one clear line on stderr', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.deepEqual(await runCli(['--version']), { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  for (const c of ['explain', 'doctor', 'fetch', 'serve', 'demo']) assert.match(help.stdout, new RegExp(`\\n  ${c} `));
  for (const c of ['explain', 'doctor', 'fetch', 'serve', 'demo']) assert.equal((await runCli([c, '--help'])).code, 0, c);
  const none = await runCli([]);
  assert.equal(none.code, 2);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'jaato-proxy: unknown command "frobnicate" (see jaato-proxy --help)\n');
  const badFlag = await runCli(['fetch', '--nope', 'http://x/']);
  assert.equal(badFlag.code, 2);
  assert.equal(badFlag.stderr.trim().split('\n').length, 1, 'no stack trace');
});

test('usage errors name the command and the option: unknown options, missing values, extra arguments', async () => {
  const rows: ReadonlyArray<[string[], string]> = [
    [['--nosuch'], 'unknown option "--nosuch" (see jaato-proxy --help)'],
    [['explain', '--nosuch', 'https://x/'], 'explain: unknown option "--nosuch" (see jaato-proxy explain --help)'],
    [['fetch', '--nosuch', 'https://x/'], 'fetch: unknown option "--nosuch" (see jaato-proxy fetch --help)'],
    [['doctor', '--nosuch'], 'doctor: unknown option "--nosuch" (see jaato-proxy doctor --help)'],
    [['serve', '--nosuch'], 'serve: unknown option "--nosuch" (see jaato-proxy serve --help)'],
    [['demo', '--nosuch'], 'demo: unknown option "--nosuch" (see jaato-proxy demo --help)'],
    [['fetch', 'https://x/', '-o'], 'fetch: -o/--output needs a value (see jaato-proxy fetch --help)'],
    [['explain', '--json=yes', 'https://x/'], 'explain: --json takes no value (see jaato-proxy explain --help)'],
    [['explain', 'https://x/', 'extra'], 'explain: unexpected argument "extra": explain takes one URL (see jaato-proxy explain --help)'],
    [['fetch', 'https://x/', 'extra'], 'fetch: unexpected argument "extra": fetch takes one URL (see jaato-proxy fetch --help)'],
    [['demo', 'extra'], 'demo: unexpected argument "extra": demo takes no arguments (see jaato-proxy demo --help)'],
    [['fetch', '--timeout', 'abc', 'https://x/'], '--timeout "abc" is not a number of milliseconds (1 or more)'],
    [['fetch', '-m', '-1', 'https://x/'], '-m/--max-time "-1" is not a number of seconds (0 or more, e.g. 2.5)'],
    [['fetch', '--max-redirs', 'x', 'https://x/'], '--max-redirs "x" is not a number of redirects (-1 for no limit)'],
    [['doctor', '--timeout', 'abc'], '--timeout "abc" is not a number of milliseconds (1 or more)'],
    [['doctor', 'https://x/', 'extra'], 'doctor: unexpected argument "extra": doctor takes at most one URL (see jaato-proxy doctor --help)'],
    [['doctor', '-x', 'socks5://h:1'], '-x/--proxy uses the unsupported proxy scheme "socks5" ("socks5://h:1"): only http:// and https:// proxies are supported'],
    [['serve', 'extra'], 'serve: unexpected argument "extra": serve takes no arguments (see jaato-proxy serve --help)'],
    [['serve', '-x', 'socks5://h:1'], '-x/--proxy uses the unsupported proxy scheme "socks5" ("socks5://h:1"): only http:// and https:// proxies are supported'],
  ];
  for (const [args, message] of rows) {
    assert.deepEqual(await runCli(args), { code: 2, stdout: '', stderr: `jaato-proxy: ${message}\n` }, args.join(' '));
  }
});

test('explain --json: every key present for each route kind; a proxy URL with a path is used without it, with a warning', async () => {
  const keys = ['url', 'route', 'rule', 'proxy', 'auth', 'spn', 'spnSource', 'basicFallback', 'authChoice', 'error', 'warnings', 'pac'];
  const env = { PATH: process.env.PATH, HTTPS_PROXY: 'http://proxy.corp:8080/some/path', JAATO_NO_PROXY: 'github.com' };
  const rows: ReadonlyArray<[string, NodeJS.ProcessEnv, number, Partial<Record<string, unknown>>]> = [
    ['https://github.com/', env, 0, { route: 'direct', proxy: null, spn: null, error: null }],
    ['https://x/', env, 0, { route: 'proxy', proxy: 'http://proxy.corp:8080/', auth: 'none', spn: null, basicFallback: null }],
    ['https://x/', { ...env, JAATO_KERBEROS_PROXY: 'true' }, 0, { route: 'proxy', auth: 'negotiate', spn: 'HTTP@proxy.corp', spnSource: 'proxy host', basicFallback: false }],
    ['https://x/', { ...env, HTTPS_PROXY: 'socks5://h:1' }, 1, { route: 'error', proxy: null, error: { code: 'ERR_JAATO_UNSUPPORTED_PROXY_SCHEME', message: 'HTTPS_PROXY uses the unsupported proxy scheme "socks5" ("socks5://h:1"): only http:// and https:// proxies are supported' } }],
  ];
  for (const [url, e, code, expected] of rows) {
    const r = await runCli(['explain', '--json', url], e);
    assert.equal(r.code, code, r.stderr);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), keys, url);
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(json[k], v, `${url} ${k}`);
  }
  const text = await runCli(['explain', 'https://x/'], env);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /route: {3}proxy http:\/\/proxy\.corp:8080\/\n/);
  assert.match(text.stdout, /warning: HTTPS_PROXY: the path "\/some\/path" of the proxy URL ignored/);
});

test('explain: the rule, redacted proxy, auth and SPN; --json; exit 1 on a bad proxy', async () => {
  const env = { PATH: process.env.PATH, HTTPS_PROXY: 'http://u:s3cret@proxy.corp:8080', JAATO_KERBEROS_PROXY: 'yes', JAATO_NO_PROXY: 'github.com' };
  const text = await runCli(['explain', 'https://api.anthropic.com/'], env);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /route: {3}proxy http:\/\/\*\*\*\*:\*\*\*\*@proxy\.corp:8080\//);
  assert.match(text.stdout, /auth: {4}negotiate/);
  assert.match(text.stdout, /spn: {5}HTTP@proxy\.corp/);
  assert.ok(!text.stdout.includes('s3cret'));
  const json = JSON.parse((await runCli(['explain', '--json', 'https://github.com/x'], env)).stdout) as { route: string; rule: string };
  assert.deepEqual([json.route, json.rule], ['direct', 'JAATO_NO_PROXY entry "github.com"']);
  const bad = await runCli(['explain', 'https://x/'], { ...env, HTTPS_PROXY: 'socks5://h:1' });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /unsupported proxy scheme "socks5"/);
});

test('explain: a proxy named by an IP address gets a hint about its service name, unless JAATO_KERBEROS_SPN names it', async () => {
  const env = { PATH: process.env.PATH, HTTPS_PROXY: 'http://[::1]:3128', JAATO_KERBEROS_PROXY: 'true' };
  const hinted = await runCli(['explain', 'https://x/'], env);
  assert.match(hinted.stdout, /spn: {5}HTTP@::1 \(proxy host\)\n {2}hint: {4}the proxy is named by an IP address, and Kerberos names services after host names: use the proxy's host name in its URL, or set JAATO_KERBEROS_SPN=/);
  const named = await runCli(['explain', 'https://x/'], { ...env, JAATO_KERBEROS_SPN: 'HTTP@proxy.corp' });
  assert.doesNotMatch(named.stdout, /hint:/);
});

test('doctor: every check passes against the lab; without a ticket it fails with the remedy', async () => {
  const lab = ctx.lab;
  const good = await runCli(['doctor', `${lab.origins.https.url}/x`, '--cacert', caFile()], labEnv(lab));
  assert.equal(good.code, 0, good.stdout + good.stderr);
  for (const name of ['proxy variables', 'route', 'kerberos library', 'ticket', 'spn', 'token', 'proxy', 'fetch']) {
    assert.match(good.stdout, new RegExp(`✓ ${name}`), name);
  }
  assert.match(good.stdout, /alice@JAATO\.TEST, valid for /);
  assert.match(good.stdout, /offers Negotiate/);
  assert.match(good.stdout, /pre-authenticated with a Negotiate token, no 407/);
  assert.doesNotMatch(good.stdout, /✗/);
  const noTicket = await runCli(['doctor', '--json', `${lab.origins.https.url}/x`, '--cacert', caFile()], labEnv(lab, { KRB5CCNAME: `FILE:${join(lab.dir, 'none')}` }));
  assert.equal(noTicket.code, 1);
  const report = JSON.parse(noTicket.stdout) as DoctorReport;
  assert.equal(report.ok, false);
  // The token is what fails; the ticket line says what the Kerberos library saw and what to do.
  const token = report.checks.find((c) => c.name === 'token');
  assert.equal(token?.status, 'fail');
  assert.match(token?.detail ?? '', /ERR_JAATO|there is no Kerberos ticket/);
  assert.match(token?.remedy ?? '', /kinit/);
  const ticket = report.checks.find((c) => c.name === 'ticket');
  assert.equal(ticket?.status, 'warn');
  assert.match(ticket?.detail ?? '', /^no Kerberos ticket \(No credentials were supplied/);
  assert.match(ticket?.remedy ?? '', /kinit/);
  assert.equal(report.checks.find((c) => c.name === 'fetch')?.status, 'fail');
});

interface DoctorReport {
  ok: boolean;
  checks: Array<{ name: string; status: string; detail: string; remedy?: string }>;
}

const check = (report: DoctorReport, name: string): DoctorReport['checks'][number] | undefined => report.checks.find((c) => c.name === name);

test('doctor passes with credentials klist cannot show: a client keytab and an empty ticket cache', async () => {
  const lab = ctx.lab;
  const keytab = await lab.clientKeytab(join(lab.dir, 'doctor-client.keytab'));
  const env = labEnv(lab, { KRB5CCNAME: `FILE:${join(lab.dir, 'doctor-keytab-ccache')}`, KRB5_CLIENT_KTNAME: keytab });
  const r = await runCli(['doctor', '--json', `${lab.origins.https.url}/x`, '--cacert', caFile()], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as DoctorReport;
  // Only the auth mode is not seen (an https URL goes through CONNECT): information, not a warning.
  assert.deepEqual(report.checks.filter((c) => c.status !== 'ok').map((c) => `${c.name} ${c.status}`), ['auth mode skip']);
  assert.match(check(report, 'ticket')?.detail ?? '', /^alice@JAATO\.TEST from the client keytab .*doctor-client\.keytab \(KRB5_CLIENT_KTNAME\), not from the ticket cache; valid for /);
  assert.match(check(report, 'token')?.detail ?? '', /SPNEGO token for HTTP@localhost \(not shown\); the library asked the KDC for HTTP\/localhost@JAATO\.TEST$/);
  assert.match(check(report, 'fetch')?.detail ?? '', /^200 /);
});

test('doctor needs no klist: the ticket line comes from the Kerberos library itself', async () => {
  const lab = ctx.lab;
  // No klist on PATH at all (the CLI runs with node's absolute path).
  const none = await runCli(['doctor', '--json', `${lab.origins.https.url}/x`, '--cacert', caFile()], labEnv(lab, { PATH: join(lab.dir, 'no-such-dir') }));
  assert.equal(none.code, 0, none.stdout + none.stderr);
  const report = JSON.parse(none.stdout) as DoctorReport;
  assert.equal(check(report, 'ticket')?.status, 'ok');
  assert.match(check(report, 'ticket')?.detail ?? '', /^alice@JAATO\.TEST, valid for /);
  assert.match(check(report, 'kerberos library')?.detail ?? '', /^MIT krb5 GSSAPI \(libgssapi_krb5\.so\.2\)$/);
});

test('doctor of an http:// URL: the HEAD probe reads Squid\'s 407 (its Content-Length has no body behind it)', async () => {
  const lab = ctx.lab;
  const r = await runCli(['doctor', `${lab.origins.http.url}/x`], labEnv(lab));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /✓ proxy +http:\/\/localhost:\d+\/ \(HTTP_PROXY\) answered 407 [^\n]*offers Negotiate/);
  assert.doesNotMatch(r.stdout, /✗|tunnel/);
});

test('fetch: -X/-d/-H/-i/-o, and -v shows the proxy exchange but never a token', async () => {
  const lab = ctx.lab;
  const out = join(lab.dir, 'fetched.json');
  const r = await runCli(['fetch', '-v', '-i', '-X', 'PUT', '-d', 'twelve bytes', '-H', 'x-probe: 1', '-o', out, `${lab.origins.https.url}/put`, '--cacert', caFile()], labEnv(lab));
  assert.equal(r.code, 0, r.stderr);
  // As curl -i -o: the status line and headers go where the body goes.
  assert.equal(r.stdout, '');
  const [head, body] = readFileSync(out, 'utf8').split('\r\n\r\n');
  assert.match(head ?? '', /^HTTP\/1\.1 200 OK\r\n/);
  const echo = JSON.parse(body ?? '') as EchoReply;
  assert.deepEqual([echo.method, echo.bodyBytes, echo.headers['x-probe']], ['PUT', 12, '1']);
  assert.match(r.stderr, /route: proxy via http:\/\/localhost:\d+\/ \(HTTPS_PROXY\); auth negotiate, SPN HTTP@localhost/);
  assert.match(r.stderr, /CONNECT 127\.0\.0\.1:\d+ via .*pre-auth negotiate/);
  assert.match(r.stderr, /: 200 Connection established/);
  assert.doesNotMatch(r.stderr + r.stdout, /Negotiate [A-Za-z0-9+/=]{16,}/);
  const failed = await runCli(['fetch', `${lab.origins.http.url}/x`], labEnv(lab, { KRB5CCNAME: `FILE:${join(lab.dir, 'none')}` }));
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /^jaato-proxy: .*requires authentication \(407; offers: Negotiate\).*kinit.* \[ERR_JAATO_PROXY_AUTH\]\n$/);
});

test('curl itself cannot pass the Negotiate proxy without --proxy-negotiate (why serve exists)', async () => {
  const r = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-x', ctx.lab.proxies.negotiate, `${ctx.lab.origins.http.url}/x`]);
  assert.equal(r.stdout, '407');
});
