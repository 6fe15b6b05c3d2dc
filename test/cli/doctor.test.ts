// doctor without a URL, against the real lab (MIT KDC, Squid with negotiate_kerberos_auth): each
// configured proxy probed without credentials, then with them; one verdict and one remedy per state.
// A proxy that offers only NTLM is scripted: the lab's Squid is not configured for NTLM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { untilTicketExpired, useLab } from '../helpers/lab.js';
import { scriptedProxy, type ScriptedProxy } from '../helpers/scripted-proxy.js';
import { CLI, doctorJson as doctor, doctorLine as line, failedLines as failed, labEnv, runCli, type DoctorJson } from './helpers.js';

const ctx = useLab();

let ntlm: ScriptedProxy;
before(async () => {
  ntlm = await scriptedProxy((_head, socket) => {
    socket.write('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM\r\nContent-Length: 0\r\n\r\n');
  });
});
after(() => ntlm.close());

test('doctor --json has one shape: every key present, null where it does not apply', async () => {
  const { code, report } = await doctor(labEnv(ctx.lab));
  assert.equal(code, 0, JSON.stringify(report, null, 1));
  assert.deepEqual(Object.keys(report), ['ok', 'url', 'checks', 'proxies', 'kerberos', 'pac']);
  assert.equal(report.pac, null, 'no PAC: null');
  assert.equal(report.url, null);
  for (const c of report.checks) assert.deepEqual(Object.keys(c), ['name', 'status', 'detail', 'remedy'], c.name);
  // The reply token on CONNECT example.com:443: none (Squid sends none) if the tunnel opens, null if Squid cannot reach the stand-in;
  // the mode and the forwarded reply token from two forwarded HEADs to http://example.com/ on one connection.
  const reply = report.proxies[0]?.connectReplyToken;
  assert.ok(reply === null || reply === 'none', String(reply));
  assert.deepEqual(report.proxies, [{ proxy: `${ctx.lab.proxies.negotiate}/`, variables: ['HTTPS_PROXY', 'HTTP_PROXY'], reachable: true, status: 407, offers: ['negotiate'], authenticated: true, authMode: 'connection', connectReplyToken: reply, forwardedReplyToken: 'none' }]);
  assert.deepEqual(report.kerberos, { enabled: true, spn: 'HTTP@localhost', spnSource: 'proxy host', principal: 'alice@JAATO.TEST', credentials: 'ticket cache', token: 'made' });
  // Kerberos off: the same keys, null where there is nothing to say.
  const off = await doctor({ ...labEnv(ctx.lab), JAATO_KERBEROS_PROXY: 'false' });
  assert.deepEqual(off.report.kerberos, { enabled: false, spn: null, spnSource: null, principal: null, credentials: null, token: 'not tried' });
  assert.deepEqual(Object.keys(off.report.proxies[0] ?? {}), ['proxy', 'variables', 'reachable', 'status', 'offers', 'authenticated', 'authMode', 'connectReplyToken', 'forwardedReplyToken']);
  assert.equal(off.report.proxies[0]?.authenticated, null);
  assert.deepEqual([off.report.proxies[0]?.authMode, off.report.proxies[0]?.connectReplyToken, off.report.proxies[0]?.forwardedReplyToken], [null, null, null]);
});

test('doctor without a URL, working setup with a ticket cache: the proxy asked without and with credentials, exit 0', async () => {
  const r = await runCli(['doctor'], labEnv(ctx.lab));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /✓ proxy {12}http:\/\/localhost:\d+\/ \(HTTPS_PROXY, HTTP_PROXY\) answered 407 Proxy Authentication Required in \d+ ms; offers Negotiate\n/);
  assert.match(r.stdout, /✓ proxy auth {7}CONNECT example\.com:443 with a Negotiate token for HTTP@localhost: accepted/);
  assert.match(r.stdout, /✓ ticket {11}alice@JAATO\.TEST, valid for \d+ h \d+ min \(until [-\d]+T[\d:]+Z\), from the ticket cache FILE:/);
  // The proxy serves http: too (HTTP_PROXY): how it authenticates forwarded requests, seen with two on one connection.
  assert.match(r.stdout, /✓ auth mode {8}per connection \(as Squid\)/);
  assert.doesNotMatch(r.stdout, /✗/);
});

test('doctor without a URL, keytab only (KRB5_CLIENT_KTNAME, an empty cache): exit 0, the principal and the keytab named', async () => {
  const lab = ctx.lab;
  const keytab = await lab.clientKeytab(join(lab.dir, 'doctor-nourl.keytab'));
  const { code, report } = await doctor(labEnv(lab, { KRB5CCNAME: `FILE:${join(lab.dir, 'doctor-nourl-ccache')}`, KRB5_CLIENT_KTNAME: keytab }));
  assert.equal(code, 0, JSON.stringify(report.checks, null, 1));
  assert.deepEqual(failed(report), []);
  assert.match(line(report, 'ticket').detail, /^alice@JAATO\.TEST from the client keytab .*doctor-nourl\.keytab \(KRB5_CLIENT_KTNAME\)/);
  assert.equal(report.kerberos.credentials, 'client keytab');
  assert.equal(report.kerberos.principal, 'alice@JAATO.TEST');
  assert.equal(line(report, 'proxy auth').status, 'ok');
  // A keytab that is not there: the ticket line points at it, the token fails.
  const missing = join(lab.dir, 'doctor-no-such.keytab');
  const none = await doctor(labEnv(lab, { KRB5CCNAME: `FILE:${join(lab.dir, 'doctor-nokt-ccache')}`, KRB5_CLIENT_KTNAME: missing }));
  assert.equal(none.code, 1);
  assert.equal(line(none.report, 'token').status, 'fail');
  assert.match(line(none.report, 'ticket').remedy ?? '', new RegExp(`^check that the client keytab ${missing.replace(/[.]/g, '\\.')} \\(KRB5_CLIENT_KTNAME\\) exists`));
});

test('doctor: the proxy is down → ✗ proxy, "the proxy is down", exit 1', async () => {
  const { code, report } = await doctor(labEnv(ctx.lab, { HTTPS_PROXY: 'http://localhost:1', HTTP_PROXY: 'http://localhost:1' }));
  assert.equal(code, 1);
  assert.deepEqual(failed(report), ['proxy']);
  assert.match(line(report, 'proxy').detail, /Cannot connect to proxy http:\/\/localhost:1\/ \(from HTTPS_PROXY\): ECONNREFUSED/);
  assert.match(line(report, 'proxy').remedy ?? '', /nothing accepts connections at localhost:1: the proxy is down, or the host or port in HTTPS_PROXY, HTTP_PROXY is wrong/);
  assert.deepEqual(report.proxies.map((p) => [p.reachable, p.status, p.authenticated]), [[false, null, null]]);
});

test('doctor: Kerberos off in front of a Negotiate-only proxy → ✗ proxy, export JAATO_KERBEROS_PROXY=true, exit 1', async () => {
  const { code, report } = await doctor(labEnv(ctx.lab, { JAATO_KERBEROS_PROXY: 'false' }));
  assert.equal(code, 1);
  assert.deepEqual(failed(report), ['proxy']);
  assert.match(line(report, 'proxy').detail, /offers Negotiate$/);
  assert.equal(line(report, 'proxy').remedy, 'the proxy wants Kerberos (Negotiate) and it is off: export JAATO_KERBEROS_PROXY=true');
  assert.match(line(report, 'kerberos').remedy ?? '', /export JAATO_KERBEROS_PROXY=true/);
});

test('doctor: no credentials → ✗ token and ✗ proxy auth, with kinit; an expired ticket names its principal', async () => {
  const lab = ctx.lab;
  const none = await doctor(labEnv(lab, { KRB5CCNAME: `FILE:${join(lab.dir, 'doctor-none')}` }));
  assert.equal(none.code, 1);
  assert.deepEqual(failed(none.report), ['token', 'proxy auth']);
  assert.match(line(none.report, 'token').remedy ?? '', /^Run `kinit user@REALM`/);
  assert.match(line(none.report, 'proxy auth').detail, /407, and no token to answer it \(ERR_JAATO_KERBEROS_NO_CREDENTIALS, see above\)/);
  assert.equal(none.report.kerberos.credentials, null);
  // A cache whose ticket has expired names the principal: the remedy is that principal's kinit.
  const cache = join(lab.dir, 'doctor-expired');
  await lab.kinit({ lifetime: '1s', ccache: `FILE:${cache}` });
  await untilTicketExpired(`FILE:${cache}`);
  const expired = await doctor(labEnv(lab, { KRB5CCNAME: `FILE:${cache}` }));
  assert.equal(expired.code, 1);
  assert.match(line(expired.report, 'ticket').remedy ?? '', /kinit alice@JAATO\.TEST/);
  assert.doesNotMatch(JSON.stringify(expired.report.checks), /kinit user@REALM/);
});

test('doctor: JAATO_KERBEROS_SPN set and wrong → says it is set and wrong, never "set JAATO_KERBEROS_SPN"', async () => {
  const lab = ctx.lab;
  // Known to the KDC, absent from Squid's keytab: the token is made, the proxy refuses it.
  const refused = await doctor(labEnv(lab, { JAATO_KERBEROS_SPN: lab.spnNotInKeytab }));
  assert.equal(refused.code, 1);
  assert.deepEqual(failed(refused.report), ['proxy auth']);
  assert.equal(line(refused.report, 'token').status, 'ok');
  assert.match(line(refused.report, 'proxy auth').detail, /^CONNECT example\.com:443: the proxy answered each Negotiate token for HTTP@not-in-keytab with another 407 \[ERR_JAATO_PROXY_AUTH\]$/);
  assert.equal(
    line(refused.report, 'proxy auth').remedy,
    "JAATO_KERBEROS_SPN is set to HTTP@not-in-keytab and the proxy refuses tokens for it: correct it to the principal in the proxy's keytab, or unset it to use HTTP@localhost (the proxy's host)",
  );
  // Unknown to the KDC: the token fails, and its remedy is the same kind.
  const unknown = await doctor(labEnv(lab, { JAATO_KERBEROS_SPN: 'HTTP/no-such-service' }));
  assert.equal(unknown.code, 1);
  assert.equal(line(unknown.report, 'token').remedy, "JAATO_KERBEROS_SPN is set to HTTP@no-such-service and the KDC does not know it: correct it to the principal in the proxy's keytab, or unset it to use HTTP@localhost (the proxy's host)");
  for (const r of [refused, unknown]) for (const c of r.report.checks) assert.doesNotMatch(c.remedy ?? '', /\bset JAATO_KERBEROS_SPN/, c.name);
});

test('doctor: JAATO_KERBEROS_SPN unset and the proxy host\'s name wrong (an IP address) → set JAATO_KERBEROS_SPN', async () => {
  const lab = ctx.lab;
  const byIp = lab.proxies.negotiate.replace('localhost', '127.0.0.1');
  const { code, report } = await doctor(labEnv(lab, { HTTPS_PROXY: byIp, HTTP_PROXY: byIp }));
  assert.equal(code, 1);
  assert.deepEqual(failed(report), ['token', 'proxy auth']);
  assert.equal(report.kerberos.spn, 'HTTP@127.0.0.1');
  assert.match(line(report, 'token').remedy ?? '', /^HTTP@127\.0\.0\.1 comes from the proxy's host and the KDC does not know it: the proxy is named by an IP address.* set JAATO_KERBEROS_SPN=HTTP@<name in the proxy's keytab>$/);
});

test('doctor: a proxy that offers only NTLM → the `proxy` line passes, `scheme` says NTLM, and without NTLM credentials `proxy auth` names the remedy', async () => {
  for (const kerberos of ['true', 'false']) {
    const { code, report } = await doctor(labEnv(ctx.lab, { HTTPS_PROXY: ntlm.url, HTTP_PROXY: ntlm.url, JAATO_KERBEROS_PROXY: kerberos, NTLM_USER_FILE: '/nonexistent/jaato-ntlm-users' }));
    assert.equal(code, 1, kerberos);
    assert.equal(line(report, 'proxy').status, 'ok');
    assert.match(line(report, 'proxy').detail, /answered 407 Proxy Authentication Required in \d+ ms; offers NTLM$/);
    assert.deepEqual(report.proxies[0]?.offers, ['ntlm']);
    assert.match(line(report, 'scheme').detail, /^NTLM, because the proxy offers NTLM, with the platform's credentials; NTLM's mechanism: Samba's \/usr\/bin\/ntlm_auth, out of process$/);
    assert.equal(line(report, 'proxy auth').status, 'fail');
    // On every Node: Samba's ntlm_auth makes NTLM outside Node's process (docs/ntlm.md), and the missing file is what is at fault.
    assert.match(line(report, 'proxy auth').remedy ?? '', /NTLM_USER_FILE/);
  }
});

test('doctor -x: the proxy given on the command line, named -x/--proxy in its messages', async () => {
  const { code, report } = await doctor(labEnv(ctx.lab, { HTTPS_PROXY: 'http://localhost:1' }), ['-x', ctx.lab.proxies.negotiate]);
  assert.equal(code, 0, JSON.stringify(report.checks, null, 1));
  assert.deepEqual(report.proxies.map((p) => p.variables), [['-x/--proxy']]);
  const down = await doctor(labEnv(ctx.lab), ['-x', 'http://localhost:1']);
  assert.equal(down.code, 1);
  assert.match(line(down.report, 'proxy').detail, /\(from -x\/--proxy\)/);
  assert.doesNotMatch(JSON.stringify(down.report), /options\.proxy/);
  const bad = await runCli(['doctor', '-x', 'socks5://h:1'], labEnv(ctx.lab));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^jaato-proxy: -x\/--proxy uses the unsupported proxy scheme "socks5"/);
});

test('doctor <https url>: the origin\'s untrusted certificate fails the fetch line with --cacert as the remedy', async () => {
  const { code, report } = await doctor(labEnv(ctx.lab), [`${ctx.lab.origins.https.url}/doctor`]);
  assert.equal(code, 1);
  assert.deepEqual(failed(report), ['fetch']);
  assert.equal(report.url, `${ctx.lab.origins.https.url}/doctor`);
  assert.match(line(report, 'proxy auth').detail, /^CONNECT 127\.0\.0\.1:\d+ with a Negotiate token for HTTP@localhost: accepted, tunnel open$/);
  assert.equal(line(report, 'fetch').remedy, "the origin's certificate is not trusted: give its CA with --cacert <file> (the library's ca option), or NODE_EXTRA_CA_CERTS=<file> for every Node program");
});

test('doctor with no Kerberos library to load: the library line says what was tried and the package, with no placeholder service and no GSSAPI label', async () => {
  const stdout = await new Promise<string>((resolve) => {
    execFile(process.execPath, [CLI, 'doctor', '--json'], { env: { ...labEnv(ctx.lab), JAATO_GSSAPI_LIBRARY: '/nonexistent/libgssapi.so' }, timeout: 30_000 }, (_error, out) => resolve(out));
  });
  const report = JSON.parse(stdout) as DoctorJson;
  const library = line(report, 'kerberos library');
  assert.equal(library.status, 'fail');
  assert.match(library.detail, /^no Kerberos library loaded: JAATO_GSSAPI_LIBRARY=\/nonexistent\/libgssapi\.so; tried \/nonexistent\/libgssapi\.so \(/);
  assert.match(library.remedy ?? '', /libgssapi-krb5-2.*krb5-libs/);
  assert.doesNotMatch(JSON.stringify(report), /HTTP@doctor|GSSAPI:/);
  assert.equal(report.kerberos.token, 'not tried');
  assert.match(line(report, 'proxy auth').detail, /\(ERR_JAATO_KERBEROS_LIBRARY_MISSING, see above\)/);
  assert.equal(report.ok, false);
});

test('doctor: a Basic proxy with the credentials in its URL passes; wrong ones fail with the remedy; none fail with where to put them', async () => {
  const lab = ctx.lab;
  const withUser = (password: string): string => lab.proxies.basic.replace('http://', `http://${lab.basic.username}:${password}@`);
  const env = (proxy: string): NodeJS.ProcessEnv => labEnv(lab, { HTTPS_PROXY: proxy, HTTP_PROXY: proxy, JAATO_KERBEROS_PROXY: 'false' });
  const good = await doctor(env(withUser(lab.basic.password)));
  assert.equal(good.code, 0, JSON.stringify(good.report.checks, null, 1));
  assert.deepEqual([line(good.report, 'kerberos').detail, line(good.report, 'kerberos').remedy], ['JAATO_KERBEROS_PROXY is off: no Negotiate, and no proxy asks for it', null]);
  assert.match(line(good.report, 'proxy auth').detail, /^CONNECT example\.com:443 with Basic credentials: accepted; the proxy then answered 500 for the target \(not an authentication failure\)$/);
  assert.doesNotMatch(JSON.stringify(good.report), new RegExp(lab.basic.password));
  const wrong = await doctor(env(withUser('not-the-password')));
  assert.equal(wrong.code, 1);
  assert.equal(line(wrong.report, 'proxy auth').remedy, 'the proxy refused the Basic credentials in HTTPS_PROXY, HTTP_PROXY: check the user and password');
  assert.doesNotMatch(JSON.stringify(wrong.report), /not-the-password/);
  const none = await doctor(env(lab.proxies.basic));
  assert.equal(none.code, 1);
  assert.deepEqual(failed(none.report), ['proxy']);
  assert.match(line(none.report, 'proxy').remedy ?? '', /^the proxy wants Basic credentials: put them in HTTPS_PROXY, HTTP_PROXY \(http:\/\/user:password@host:port\)$/);
});

test('doctor <https url> to a port the proxy does not tunnel to: ✗ proxy and ✗ fetch with the proxy\'s rule as the remedy', async () => {
  // The lab's Squid, like a corporate one, allows CONNECT to 443 and the lab origin's port only.
  const { code, report } = await doctor(labEnv(ctx.lab), ['https://localhost:8443/']);
  assert.equal(code, 1);
  assert.deepEqual(failed(report), ['proxy', 'fetch']);
  assert.match(line(report, 'proxy').detail, /answered 403 Forbidden in \d+ ms to CONNECT, without asking for credentials$/);
  assert.match(line(report, 'fetch').detail, /did not open a tunnel to localhost:8443: the proxy answered 403/);
  for (const name of ['proxy', 'fetch']) assert.match(line(report, name).remedy ?? '', /^the proxy's rules refuse a tunnel to this host or port/, name);
});

test('doctor without a URL, a separate proxy for http: asked as it is used, with a forwarded HEAD, then authenticated through the library', async () => {
  const lab = ctx.lab;
  const env = labEnv(lab, { HTTPS_PROXY: lab.proxies.both, HTTP_PROXY: lab.proxies.negotiate });
  const { code, report } = await doctor(env);
  assert.equal(code, 0, JSON.stringify(report.checks, null, 1));
  assert.deepEqual(report.proxies.map((p) => [p.variables, p.status, p.authenticated]), [[['HTTPS_PROXY'], 407, true], [['HTTP_PROXY'], 407, true]]);
  const auth = report.checks.filter((c) => c.name === 'proxy auth').map((c) => c.detail);
  assert.match(auth[0] ?? '', /^CONNECT example\.com:443 with a Negotiate token for HTTP@localhost: accepted/);
  assert.match(auth[1] ?? '', /^HEAD http:\/\/example\.com with a Negotiate token for HTTP@localhost: accepted, answered \d{3} /);
  // Without a ticket the forwarded request fails as the tunnel does.
  const none = await doctor({ ...env, KRB5CCNAME: `FILE:${join(lab.dir, 'doctor-none-2')}` });
  assert.equal(none.code, 1);
  assert.deepEqual(none.report.proxies.map((p) => p.authenticated), [false, false]);
});

test('doctor: Kerberos on, no ticket, a Basic proxy with its credentials in the URL → the Kerberos lines warn, Basic is named as sent, exit 0 (as fetch succeeds)', async () => {
  const lab = ctx.lab;
  const proxy = lab.proxies.basic.replace('http://', `http://${lab.basic.username}:${lab.basic.password}@`);
  const env = labEnv(lab, { HTTPS_PROXY: proxy, HTTP_PROXY: proxy, KRB5CCNAME: `FILE:${join(lab.dir, 'doctor-basic-no-ticket')}` });
  const fetched = await runCli(['fetch', '-s', '-o', '/dev/null', '-w', '%{http_code}', `${lab.origins.http.url}/basic-kerberos-on`], env);
  assert.deepEqual([fetched.code, fetched.stdout], [0, '200'], fetched.stderr);
  const { code, report } = await doctor(env);
  assert.equal(code, 0, JSON.stringify(report.checks, null, 1));
  assert.equal(line(report, 'token').status, 'warn');
  assert.match(line(report, 'token').detail, /; not needed now: no proxy asks for Negotiate$/);
  assert.equal(line(report, 'ticket').status, 'warn');
  assert.match(line(report, 'proxy auth').detail, /^CONNECT example\.com:443 with Basic credentials: accepted/);
  assert.doesNotMatch(JSON.stringify(report.checks), /Negotiate token for/);
  // With a URL, the fetch line says how it got past the proxy: Basic, after a 407 (no token could be made).
  const url = await doctor(env, [`${lab.origins.http.url}/basic-kerberos-on`]);
  assert.equal(url.code, 0, JSON.stringify(url.report.checks, null, 1));
  assert.match(line(url.report, 'fetch').detail, /^200 OK in \d+ ms \(after a 407, with Basic credentials\)$/);
});

test('doctor takes fetch\'s routing and trust options with fetch\'s meaning: -U, --proxy-negotiate, --noproxy, -k, --connect-timeout', async () => {
  const lab = ctx.lab;
  const off = labEnv(lab, { JAATO_KERBEROS_PROXY: 'false' });
  // -U: Basic credentials for the proxy, never shown.
  const user = await doctor(off, ['-x', lab.proxies.basic, '-U', `${lab.basic.username}:${lab.basic.password}`]);
  assert.equal(user.code, 0, JSON.stringify(user.report.checks, null, 1));
  assert.match(line(user.report, 'proxy auth').detail, /with Basic credentials: accepted/);
  assert.doesNotMatch(JSON.stringify(user.report), new RegExp(lab.basic.password));
  const noColon = await runCli(['doctor', '-U', 'alice'], off);
  assert.deepEqual([noColon.code, noColon.stderr], [2, 'jaato-proxy: -U/--proxy-user needs user:password (there is no password prompt)\n']);
  // --proxy-negotiate: Kerberos on without JAATO_KERBEROS_PROXY.
  const neg = await doctor(off, ['--proxy-negotiate']);
  assert.equal(neg.code, 0, JSON.stringify(neg.report.checks, null, 1));
  assert.equal(neg.report.kerberos.enabled, true);
  assert.equal(line(neg.report, 'kerberos').detail, '--proxy-negotiate is on');
  // --noproxy: the URL goes direct, and is fetched directly.
  const direct = await doctor(labEnv(lab), ['--noproxy', '127.0.0.1', `${lab.origins.http.url}/np`]);
  assert.equal(direct.code, 0, JSON.stringify(direct.report.checks, null, 1));
  assert.match(line(direct.report, 'route').detail, /^direct, because options\.noProxy entry "127\.0\.0\.1"/);
  assert.match(line(direct.report, 'fetch').detail, /^200 OK in \d+ ms \(direct\)$/);
  assert.equal(lab.origins.http.seen.at(-1)?.url, '/np');
  // -k: the origin's certificate not checked, as fetch -k.
  const insecure = await doctor(labEnv(lab), ['-k', `${lab.origins.https.url}/k`]);
  assert.equal(insecure.code, 0, JSON.stringify(insecure.report.checks, null, 1));
  assert.match(line(insecure.report, 'fetch').detail, /^200 OK/);
  // --connect-timeout, in seconds: a proxy that never answers is given up on after it.
  const silent = await scriptedProxy(() => undefined);
  try {
    const slow = await doctor(labEnv(lab), ['-x', silent.url, '--connect-timeout', '0.3']);
    assert.equal(slow.code, 1);
    assert.match(line(slow.report, 'proxy').detail, /Timed out after 300 ms/);
    const both = await runCli(['doctor', '--connect-timeout', '1', '--timeout', '1000'], labEnv(lab));
    assert.deepEqual([both.code, both.stderr], [2, 'jaato-proxy: --connect-timeout and --timeout set the same limit: give one\n']);
  } finally {
    await silent.close();
  }
});

test('doctor <url> routed direct: the URL is fetched, and an unreachable host fails with the rule that sent it past the proxy', async () => {
  // A port nothing listens on (fetch refuses port 1 itself, as a "bad port").
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const { code, report } = await doctor(labEnv(ctx.lab, { NO_PROXY: 'localhost' }), [`http://localhost:${port}/`]);
  assert.equal(code, 1);
  assert.deepEqual(failed(report), ['fetch']);
  assert.equal(line(report, 'fetch').remedy, 'nothing answers at the URL\'s host and port from here; it goes direct because of NO_PROXY entry "localhost": if only the proxy reaches it, take it out of that list');
});

test('doctor -x "": no proxy, and the proxy-variables line says the variables are set aside', async () => {
  const { code, report } = await doctor(labEnv(ctx.lab), ['-x', '']);
  assert.equal(code, 0, JSON.stringify(report.checks, null, 1));
  assert.deepEqual(line(report, 'proxy variables'), { name: 'proxy variables', status: 'ok', detail: '-x "": no proxy, every connection goes direct (HTTPS_PROXY, HTTP_PROXY set aside)', remedy: null });
  assert.deepEqual(report.proxies, []);
});

test('doctor without a URL, a proxy that refuses CONNECT to the stand-in target before asking for credentials → a warning with "give a URL", exit 0', async () => {
  const refusing = await scriptedProxy((_head, socket) => void socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
  try {
    const { code, report } = await doctor(labEnv(ctx.lab, { HTTPS_PROXY: refusing.url, HTTP_PROXY: refusing.url }));
    assert.equal(code, 0, JSON.stringify(report.checks, null, 1));
    assert.equal(line(report, 'proxy').status, 'warn');
    assert.match(line(report, 'proxy').detail, /answered 403 Forbidden in \d+ ms to CONNECT example\.com:443 \(doctor's stand-in target\), without asking for credentials$/);
    assert.match(line(report, 'proxy').remedy ?? '', /give doctor a URL the proxy serves/);
    // What that proxy wants is not known, so a broken Kerberos still fails there.
    const none = await doctor(labEnv(ctx.lab, { HTTPS_PROXY: refusing.url, HTTP_PROXY: refusing.url, KRB5CCNAME: `FILE:${join(ctx.lab.dir, 'doctor-standin-none')}` }));
    assert.equal(none.code, 1);
    assert.equal(line(none.report, 'token').status, 'fail');
  } finally {
    await refusing.close();
  }
});

test('doctor <url>: the fetch line says "after a 407" from the tokens made, not from log text: one token pre-authenticates, a refused one is answered with a second', async () => {
  const lab = ctx.lab;
  const pre = await doctor(labEnv(lab), [`${lab.origins.http.url}/pre`]);
  assert.equal(pre.code, 0, JSON.stringify(pre.report.checks, null, 1));
  assert.match(line(pre.report, 'fetch').detail, /^200 OK in \d+ ms \(pre-authenticated with a Negotiate token, no 407\)$/);
  // A proxy that refuses the first token of a GET and takes the next (real tokens from the lab's KDC);
  // doctor's own HEADs (its auth-mode probe) are not counted.
  let authorized = 0;
  const picky = await scriptedProxy((head, socket) => {
    if (!/^proxy-authorization: Negotiate /im.test(head)) return void socket.write('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n');
    if (head.startsWith('GET ') && ++authorized === 1) return void socket.write('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n');
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  try {
    const { code, report } = await doctor(labEnv(lab, { HTTPS_PROXY: picky.url, HTTP_PROXY: picky.url }), ['http://example.com/picky']);
    assert.equal(code, 0, JSON.stringify(report.checks, null, 1));
    assert.match(line(report, 'fetch').detail, /^200 OK in \d+ ms \(after a 407: 2 Negotiate tokens\)$/);
  } finally {
    await picky.close();
  }
});
