import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { EchoReply } from '../../lab/origin.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';
import { CLI, labEnv, runCli, type Result } from './helpers.js';

// jaato-proxy fetch against the real lab, one test per curl flag (or family), each asserting what
// curl would do. The flags and exit codes are the README's tables.
// One suite, so its hooks run in order (at the top level Node 20 starts each before() as it is registered).
describe('jaato-proxy fetch, as curl', () => {
  const ctx = useLab();
  const fetchCli = (args: string[], env: NodeJS.ProcessEnv = labEnv(ctx.lab)): Promise<Result> => runCli(['fetch', ...args], env);
  const echo = (r: Result): EchoReply => JSON.parse(r.stdout) as EchoReply;
  const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

  let ca = '';
  let http = '';
  let https = '';
  let closedPort = 0;
  let blackHole: NetServer;
  let tlsFront: TlsServer;
  let tlsProxy = '';
  const heldOpen = new Set<Socket>();

  async function listening<S extends NetServer>(server: S): Promise<S> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  before(async () => {
    const lab = ctx.lab;
    ca = join(lab.dir, 'fetch-ca.pem');
    writeFileSync(ca, lab.ca);
    http = lab.origins.http.url;
    https = lab.origins.https.url;
    // /status/<n> answers n; /moved/<n>?to= redirects with status n (the origin's /redirect is a 302).
    for (const origin of [lab.origins.http, lab.origins.https]) {
      origin.mount('/status/', (req, res) => {
        req.resume();
        res.writeHead(Number(req.url?.split('/')[2]), { 'content-type': 'text/plain' }).end('status body\n');
      });
      origin.mount('/moved/', (req, res) => {
        req.resume();
        const url = new URL(req.url ?? '/', 'http://x');
        res.writeHead(Number(url.pathname.split('/')[2]), { location: url.searchParams.get('to') ?? '/' }).end('moved body');
      });
    }
    const probe = await listening(createNetServer());
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    // A proxy that accepts connections and never answers.
    blackHole = await listening(createNetServer((s) => void heldOpen.add(s)));
    // An https:// proxy: TLS (the lab CA's localhost certificate) in front of the Negotiate Squid.
    tlsFront = await listening(
      createTlsServer({ key: readFileSync(join(lab.dir, 'origin.key')), cert: readFileSync(join(lab.dir, 'origin.pem')) }, (tls) => {
        const squid = connect(Number(new URL(lab.proxies.negotiate).port), '127.0.0.1');
        tls.pipe(squid).pipe(tls);
        tls.on('error', () => squid.destroy());
        squid.on('error', () => tls.destroy());
      }),
    );
    tlsProxy = `https://localhost:${(tlsFront.address() as AddressInfo).port}`;
  });

  after(() => {
    for (const s of heldOpen) s.destroy();
    blackHole.close();
    tlsFront.close();
  });

  test('-i: an HTTP/1.1 status line and the headers, CRLF as curl prints them; -I: HEAD, headers only', async () => {
    const r = await fetchCli(['-i', `${https}/include`, '--cacert', ca]);
    assert.equal(r.code, 0, r.stderr);
    const [head, body] = r.stdout.split('\r\n\r\n');
    const lines = (head ?? '').split('\r\n');
    assert.equal(lines[0], 'HTTP/1.1 200 OK');
    assert.ok(lines.includes('content-type: application/json'), head);
    assert.equal(echo({ ...r, stdout: body ?? '' }).url, '/include');
    const from = ctx.lab.origins.http.seen.length;
    const h = await fetchCli(['-I', `${http}/head`]);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /^HTTP\/1\.1 200 OK\r\n(.+\r\n)+\r\n$/);
    assert.ok(h.stdout.includes('content-type: application/json\r\n'));
    assert.deepEqual(ctx.lab.origins.http.seen.slice(from).map((s) => [s.method, s.url]), [['HEAD', '/head']]);
  });

  test('redirects: printed by default (exit 0, %{redirect_url}); -L follows them, --max-redirs bounds them (exit 47)', async () => {
    const to = `${http}/landed`;
    const plain = await fetchCli(['-i', '-w', '|%{http_code} %{redirect_url} %{num_redirects}', `${http}/redirect?to=${encodeURIComponent(to)}`]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^HTTP\/1\.1 302 Found\r\n/);
    assert.ok(plain.stdout.includes(`location: ${to}\r\n`));
    assert.ok(plain.stdout.endsWith(`|302 ${to} 0`), plain.stdout);
    const followed = await fetchCli(['-L', '-w', '\\n%{http_code} %{num_redirects} %{url_effective} [%{redirect_url}]', `${http}/redirect?to=${encodeURIComponent(to)}`]);
    assert.equal(followed.code, 0, followed.stderr);
    const [json, line] = followed.stdout.split('\n');
    assert.equal((JSON.parse(json ?? '') as EchoReply).url, '/landed');
    assert.equal(line, `200 1 ${to} []`);
    // Across the proxy's two routes: an http origin redirecting to the https one (forwarded, then tunnelled).
    const across = await fetchCli(['-L', '--cacert', ca, `${http}/redirect?to=${encodeURIComponent(`${https}/tls-landed`)}`]);
    assert.deepEqual([echo(across).url, echo(across).tls], ['/tls-landed', true]);
    const chain = `${http}/redirect?to=${encodeURIComponent(`/redirect?to=${encodeURIComponent('/end')}`)}`;
    assert.equal(echo(await fetchCli(['-L', '--max-redirs', '2', chain])).url, '/end');
    const tooMany = await fetchCli(['-L', '--max-redirs', '1', '-w', '%{http_code} %{exitcode}', chain]);
    assert.equal(tooMany.code, 47);
    assert.equal(tooMany.stderr, 'jaato-proxy: Maximum (1) redirects followed\n');
    assert.equal(tooMany.stdout, '302 47');
    assert.equal(echo(await fetchCli(['-L', '--max-redirs', '-1', chain])).url, '/end', '-1: no limit');
    for (const bad of ['x', '1.5', '-2']) {
      const r = await fetchCli(['-L', '--max-redirs', bad, chain]);
      assert.equal(r.code, 2, bad);
      assert.equal(r.stderr, `jaato-proxy: --max-redirs "${bad}" is not a number of redirects (-1 for no limit)\n`);
    }
  });

  test('-L as curl: POST becomes GET on 302/303 without the body, 307 repeats it; -u does not follow to another origin', async () => {
    const moved = (status: number, to: string): string => `${http}/moved/${status}?to=${encodeURIComponent(to)}`;
    const after302 = echo(await fetchCli(['-L', '-d', 'a=1', moved(302, '/after')]));
    assert.deepEqual([after302.method, after302.bodyBytes, after302.headers['content-type']], ['GET', 0, undefined]);
    const after303 = echo(await fetchCli(['-L', '-X', 'PUT', '-d', 'a=1', moved(303, '/after')]));
    assert.deepEqual([after303.method, after303.bodyBytes], ['PUT', 0], '-X stays, the body does not');
    const after307 = echo(await fetchCli(['-L', '-d', 'a=1', moved(307, '/after')]));
    assert.deepEqual([after307.method, after307.bodySha256], ['POST', sha256('a=1')]);
    const same = echo(await fetchCli(['-L', '-u', 'carol:pw', moved(302, '/same')]));
    assert.equal(same.headers.authorization, `Basic ${Buffer.from('carol:pw').toString('base64')}`);
    const other = echo(await fetchCli(['-L', '-u', 'carol:pw', '-H', 'Cookie: c=1', '-H', 'X-Kept: 1', '--cacert', ca, moved(302, `${https}/other`)]));
    assert.deepEqual([other.url, other.headers.authorization, other.headers.cookie, other.headers['x-kept']], ['/other', undefined, undefined, '1']);
  });

  test('-f: exit 22 and curl\'s one line, no body; -s silences it, -S brings it back; without -f an error status is exit 0', async () => {
    const failed = await fetchCli(['-f', `${http}/status/404`]);
    assert.deepEqual(failed, { code: 22, stdout: '', stderr: 'jaato-proxy: The requested URL returned error: 404\n' });
    assert.deepEqual(await fetchCli(['-fs', `${http}/status/500`]), { code: 22, stdout: '', stderr: '' });
    assert.deepEqual(await fetchCli(['-fsS', `${https}/status/403`, '--cacert', ca]), { code: 22, stdout: '', stderr: 'jaato-proxy: The requested URL returned error: 403\n' });
    const withHead = await fetchCli(['-fi', `${http}/status/404`]);
    assert.equal(withHead.code, 22);
    assert.match(withHead.stdout, /^HTTP\/1\.1 404 Not Found\r\n(.+\r\n)+\r\n$/, 'headers as curl -fi prints them, no body');
    assert.deepEqual(await fetchCli([`${http}/status/404`]), { code: 0, stdout: 'status body\n', stderr: '' });
    assert.equal((await fetchCli(['-f', `${http}/status/399`])).code, 0);
  });

  test('-s/-S on a failure: -s prints nothing, -sS the error; -w is still written', async () => {
    const args = ['-x', `http://127.0.0.1:${closedPort}`, `${http}/x`];
    assert.deepEqual(await fetchCli(['-s', ...args]), { code: 7, stdout: '', stderr: '' });
    const shown = await fetchCli(['-sS', '-w', '%{http_code} %{exitcode}', ...args]);
    assert.equal(shown.code, 7);
    assert.equal(shown.stdout, '000 7');
    assert.match(shown.stderr, /^jaato-proxy: Cannot connect to proxy http:\/\/127\.0\.0\.1:\d+\/ .*ECONNREFUSED.*\[ERR_JAATO_PROXY_CONNECT\]\n$/);
  });

  test('-k: an origin certificate that is not trusted is exit 60 with the remedy; -k skips the check', async () => {
    const untrusted = await fetchCli([`${https}/k`]);
    assert.equal(untrusted.code, 60);
    assert.match(untrusted.stderr, /^jaato-proxy: .*certificate.*\(trust the origin's CA with --cacert <file>, or skip the check with -k\)\n$/);
    const insecure = await fetchCli(['-k', `${https}/k`]);
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.equal(echo(insecure).url, '/k');
    assert.equal(echo(await fetchCli(['--cacert', ca, `${https}/k`])).url, '/k', '--cacert');
  });

  test('-x/--proxy wins over the variables for both schemes; -x "" goes direct; a bad -x is a usage error', async () => {
    const lab = ctx.lab;
    // The variables point at a closed port: only -x can make these work.
    const env = labEnv(lab, { HTTPS_PROXY: `http://127.0.0.1:${closedPort}`, HTTP_PROXY: `http://127.0.0.1:${closedPort}` });
    const from = await quietLogLength(lab);
    const forwarded = await fetchCli(['-x', lab.proxies.negotiate, `${http}/via-x`], env);
    assert.match(String(echo(forwarded).headers.via), /squid/);
    assert.equal(echo(await fetchCli(['--proxy', lab.proxies.negotiate, '--cacert', ca, `${https}/via-x`], env)).url, '/via-x');
    const seen = await logSince(lab, from, 2);
    assert.deepEqual(seen.map((e) => [e.method, e.status, e.user]).sort(), [['CONNECT', 200, lab.principal], ['GET', 200, lab.principal]]);
    const direct = await fetchCli(['-x', '', `${http}/no-proxy`], env);
    assert.equal(echo(direct).headers.via, undefined);
    const bad = await fetchCli(['-x', 'socks5://h:1', `${http}/x`], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^jaato-proxy: -x\/--proxy uses the unsupported proxy scheme "socks5"/);
    // Errors and -v name the option as it was typed, never the library's options.proxy.
    const down = await fetchCli(['-v', '-x', `http://127.0.0.1:${closedPort}`, `${http}/x`], env);
    assert.equal(down.code, 7);
    assert.match(down.stderr, /\* route: proxy via http:\/\/127\.0\.0\.1:\d+\/ \(-x\/--proxy\)/);
    assert.match(down.stderr, /jaato-proxy: Cannot connect to proxy http:\/\/127\.0\.0\.1:\d+\/ \(from -x\/--proxy\): ECONNREFUSED/);
    assert.doesNotMatch(down.stderr, /options\.proxy/);
  });

  test('-U/--proxy-user: Basic for the proxy from the variables or -x, never shown; a wrong password is exit 1', async () => {
    const lab = ctx.lab;
    const { username, password } = lab.basic;
    const env = { PATH: process.env.PATH, HTTP_PROXY: lab.proxies.basic, HTTPS_PROXY: lab.proxies.basic };
    const from = await quietLogLength(lab);
    const r = await fetchCli(['-v', '-U', `${username}:${password}`, `${http}/basic-user`], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(String(echo(r).headers.via), /squid/);
    assert.match(r.stderr, /route: proxy via http:\/\/\*\*\*\*:\*\*\*\*@localhost:\d+\/ \(HTTP_PROXY\); auth basic/, 'the variable is still named');
    const tunnelled = await fetchCli(['-v', '-x', lab.proxies.basic, '--proxy-user', `${username}:${password}`, '--cacert', ca, `${https}/basic-user`], { PATH: process.env.PATH });
    assert.equal(echo(tunnelled).url, '/basic-user');
    const seen = await logSince(lab, from, 2);
    assert.deepEqual(seen.map((e) => [e.method, e.user]).sort(), [['CONNECT', username], ['GET', username]]);
    for (const out of [r, tunnelled]) assert.ok(!(out.stdout + out.stderr).includes(password), 'the password is never printed');
    const wrong = await fetchCli(['-U', `${username}:not-${password}`, `${http}/x`], env);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /requires authentication \(407; offers: Basic\): the proxy refused the Basic credentials.*\[ERR_JAATO_PROXY_AUTH\]\n$/);
    assert.ok(!wrong.stderr.includes(`not-${password}`));
    const noColon = await fetchCli(['-U', username, `${http}/x`], env);
    assert.deepEqual([noColon.code, noColon.stderr], [2, 'jaato-proxy: -U/--proxy-user needs user:password (there is no password prompt)\n']);
  });

  test('--proxy-negotiate -U : (curl\'s Kerberos spelling) turns Negotiate on without JAATO_KERBEROS_PROXY', async () => {
    const lab = ctx.lab;
    const env = { PATH: process.env.PATH, ...lab.env, HTTPS_PROXY: lab.proxies.negotiate };
    const off = await fetchCli(['--cacert', ca, `${https}/neg`], env);
    assert.equal(off.code, 1, 'the Negotiate-only proxy refuses without it');
    const from = await quietLogLength(lab);
    const on = await fetchCli(['--proxy-negotiate', '-U', ':', '--cacert', ca, `${https}/neg`], env);
    assert.equal(echo(on).url, '/neg');
    assert.deepEqual((await logSince(lab, from, 1)).map((e) => [e.method, e.status, e.user]), [['CONNECT', 200, lab.principal]]);
  });

  test('--noproxy: hosts reached directly instead of by NO_PROXY', async () => {
    const viaProxy = await fetchCli([`${http}/np`], labEnv(ctx.lab, { NO_PROXY: 'nothing.example' }));
    assert.match(String(echo(viaProxy).headers.via), /squid/);
    const direct = await fetchCli(['--noproxy', '127.0.0.1', `${http}/np`], labEnv(ctx.lab, { NO_PROXY: 'nothing.example' }));
    assert.equal(echo(direct).headers.via, undefined);
  });

  test('-m/--max-time: the whole transfer, fractional seconds, exit 28; numbers validated', async () => {
    const started = Date.now();
    const slow = await fetchCli(['-m', '0.5', '-w', '%{exitcode}', '--cacert', ca, `${https}/delay/5000`]);
    assert.equal(slow.code, 28);
    assert.ok(Date.now() - started < 4000, `${Date.now() - started} ms`);
    assert.match(slow.stderr, /^jaato-proxy: Operation timed out after \d+ milliseconds with 0 bytes received\n$/);
    assert.equal(slow.stdout, '28');
    // A proxy that never answers a forwarded request: only -m ends it (its headers timeout is minutes).
    const silent = await fetchCli(['--max-time', '0.4', '-x', `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`, `${http}/x`]);
    assert.equal(silent.code, 28);
    assert.equal((await fetchCli(['-m', '5', `${http}/delay/10`])).code, 0);
    for (const bad of ['-1', 'abc', '']) {
      const r = await fetchCli(['-m', bad, `${http}/x`]);
      assert.deepEqual([r.code, r.stderr], [2, `jaato-proxy: -m/--max-time "${bad}" is not a number of seconds (0 or more, e.g. 2.5)\n`], bad);
    }
  });

  test('--connect-timeout (seconds) and --timeout (ms): a proxy that accepts and never answers CONNECT is exit 28', async () => {
    const silentProxy = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
    for (const limit of [['--connect-timeout', '0.3'], ['--timeout', '300']]) {
      const started = Date.now();
      const r = await fetchCli([...limit, '-x', silentProxy, '--cacert', ca, `${https}/x`]);
      assert.equal(r.code, 28, limit.join(' '));
      assert.match(r.stderr, /Timed out after 300 ms waiting for the answer to CONNECT .* \[ERR_JAATO_PROXY_TIMEOUT\]\n$/);
      assert.ok(Date.now() - started < 4000);
    }
    const bad = [
      [['--timeout', 'abc'], '--timeout "abc" is not a number of milliseconds (1 or more)'],
      [['--timeout', '0'], '--timeout "0" is not a number of milliseconds (1 or more)'],
      [['--connect-timeout', 'x'], '--connect-timeout "x" is not a number of seconds (0 or more, e.g. 2.5)'],
      [['--connect-timeout', '1', '--timeout', '1000'], '--connect-timeout and --timeout set the same limit: give one'],
    ] as const;
    for (const [args, message] of bad) {
      const r = await fetchCli([...args, `${http}/x`]);
      assert.deepEqual([r.code, r.stderr], [2, `jaato-proxy: ${message}\n`]);
    }
  });

  test('-w/--write-out: the common variables, escapes and @file', async () => {
    const r = await fetchCli([
      '-o', '/dev/null', '-w',
      '%{http_code}|%{response_code}|%{size_download}|%{size_upload}|%{time_total}|%{url_effective}|%{content_type}|%{num_redirects}|%{redirect_url}|%{exitcode}|%{errormsg}|%{method}|100%%\\n',
      '-d', 'four', `${http}/bytes/1000`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const fields = r.stdout.split('|');
    assert.equal(fields[4]?.match(/^\d+\.\d{6}$/)?.[0], fields[4], 'time_total in seconds, 6 decimals');
    fields[4] = 'T';
    assert.deepEqual(fields, ['200', '200', '1000', '4', 'T', `${http}/bytes/1000`, 'application/octet-stream', '0', '', '0', '', 'POST', '100%\n']);
    const format = join(ctx.lab.dir, 'format.txt');
    writeFileSync(format, 'code=%{http_code}\\n');
    assert.equal((await fetchCli(['-o', '/dev/null', '-w', `@${format}`, `${http}/x`])).stdout, 'code=200\n');
    const unknown = await fetchCli(['-s', '-o', '/dev/null', '-w', '%{nosuch}%{http_code}', `${http}/x`]);
    assert.deepEqual([unknown.stdout, unknown.stderr], ['200', "jaato-proxy: unknown --write-out variable: 'nosuch'\n"]);
  });

  test('-d is form data (@file without newlines, joined with &), --data-binary as is, --data-raw, --json', async () => {
    const dir = ctx.lab.dir;
    writeFileSync(join(dir, 'form.txt'), 'a=1\r\nb=2\n');
    writeFileSync(join(dir, 'blob.bin'), Buffer.from([0, 1, 10, 13, 255]));
    writeFileSync(join(dir, 'doc.json'), '{"q": 1}\n');
    const form = echo(await fetchCli(['-d', 'x=1', '-d', `@${join(dir, 'form.txt')}`, `${http}/form`]));
    assert.deepEqual([form.method, form.headers['content-type'], form.bodySha256], ['POST', 'application/x-www-form-urlencoded', sha256('x=1&a=1b=2')]);
    const binary = echo(await fetchCli(['--data-binary', `@${join(dir, 'blob.bin')}`, '--cacert', ca, `${https}/bin`]));
    assert.deepEqual([binary.bodyBytes, binary.bodySha256, binary.headers['content-type']], [5, sha256(Buffer.from([0, 1, 10, 13, 255])), 'application/x-www-form-urlencoded']);
    const raw = echo(await fetchCli(['--data-raw', '@not-a-file', `${http}/raw`]));
    assert.equal(raw.bodySha256, sha256('@not-a-file'));
    const json = echo(await fetchCli(['--json', `@${join(dir, 'doc.json')}`, `${http}/json`]));
    assert.deepEqual([json.method, json.headers['content-type'], json.headers.accept, json.bodySha256], ['POST', 'application/json', 'application/json', sha256('{"q": 1}\n')]);
    const typed = echo(await fetchCli(['-d', '{}', '-H', 'Content-Type: application/merge-patch+json', '-X', 'PATCH', `${http}/typed`]));
    assert.deepEqual([typed.method, typed.headers['content-type']], ['PATCH', 'application/merge-patch+json'], '-H wins over the default type');
    const untyped = echo(await fetchCli(['-d', 'a=1', '-H', 'Content-Type:', `${http}/untyped`]));
    assert.deepEqual([untyped.method, untyped.headers['content-type'], untyped.bodySha256], ['POST', undefined, sha256('a=1')], '"Name:" removes the default');
    const fromStdin = await new Promise<EchoReply>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'fetch', '-d', '@-', `${http}/stdin`], { env: labEnv(ctx.lab) });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('exit', () => resolve(JSON.parse(out) as EchoReply));
      child.stdin.end('from=stdin\n');
    });
    assert.equal(fromStdin.bodySha256, sha256('from=stdin'), '@- reads stdin, newline stripped');
    const mixed = await fetchCli(['--json', '{}', '-d', 'a', `${http}/x`]);
    assert.deepEqual([mixed.code, mixed.stderr], [2, 'jaato-proxy: --json cannot be combined with -d/--data, --data-raw or --data-binary\n']);
    const headWithData = await fetchCli(['-I', '-d', 'a', `${http}/x`]);
    assert.equal(headWithData.code, 2);
  });

  test('-u and -A: origin credentials and the user agent', async () => {
    const r = echo(await fetchCli(['-u', 'dave:s3cret', '-A', 'curl/8.0 (jaato)', `${http}/ua`]));
    assert.deepEqual([r.headers.authorization, r.headers['user-agent']], [`Basic ${Buffer.from('dave:s3cret').toString('base64')}`, 'curl/8.0 (jaato)']);
    const inUrl = echo(await fetchCli([`${http.replace('http://', 'http://erin:pw@')}/in-url`]));
    assert.equal(inUrl.headers.authorization, `Basic ${Buffer.from('erin:pw').toString('base64')}`);
    assert.equal(echo(await fetchCli([`${http.replace('http://', '')}/no-scheme`])).url, '/no-scheme', 'no scheme: http://, as curl');
  });

  test('--proxy-cacert (and proxyCa): an https:// proxy\'s CA; without it exit 60 naming the option; --proxy-insecure', async () => {
    const env = { PATH: process.env.PATH, ...ctx.lab.env, JAATO_KERBEROS_PROXY: 'true' };
    const untrusted = await fetchCli(['-x', tlsProxy, '--cacert', ca, `${https}/tls-proxy`], env);
    assert.equal(untrusted.code, 60);
    assert.match(untrusted.stderr, /Cannot connect to proxy https:\/\/localhost:\d+\/ .*\(trust the proxy's CA with --proxy-cacert <file>, or skip the check with --proxy-insecure\)\n$/);
    const trusted = await fetchCli(['-x', tlsProxy, '--proxy-cacert', ca, '--cacert', ca, `${https}/tls-proxy`], env);
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.deepEqual([echo(trusted).url, echo(trusted).tls], ['/tls-proxy', true]);
    const forwarded = await fetchCli(['-x', tlsProxy, '--proxy-cacert', ca, `${http}/tls-proxy`], env);
    assert.match(String(echo(forwarded).headers.via), /squid/);
    const insecure = await fetchCli(['-x', tlsProxy, '--proxy-insecure', `${http}/tls-proxy`], env);
    assert.equal(insecure.code, 0, insecure.stderr);
    // The origin's CA does not vouch for the proxy, nor the reverse.
    assert.equal((await fetchCli(['-x', tlsProxy, '--proxy-cacert', ca, `${https}/tls-proxy`], env)).code, 60);
  });

  test('exit codes: 3 bad URL, 5 and 6 unknown names, 7 no connection, 35 TLS, 56 tunnel refused, 23/26/77 files, 1 proxy auth', async () => {
    const lab = ctx.lab;
    const none = { PATH: process.env.PATH };
    const rows: ReadonlyArray<[string, string[], NodeJS.ProcessEnv, number, RegExp]> = [
      ['bad URL', ['http://['], none, 3, /^jaato-proxy: the URL "http:\/\/\[" does not parse\n$/],
      ['unknown proxy host', ['-x', 'http://nosuch.invalid:3128', `${http}/x`], none, 5, /ENOTFOUND.*\[ERR_JAATO_PROXY_CONNECT\]/],
      ['unknown host, direct', ['http://nosuch.invalid/'], none, 6, /ENOTFOUND nosuch\.invalid/],
      ['proxy refuses', ['-x', `http://127.0.0.1:${closedPort}`, `${http}/x`], none, 7, /ECONNREFUSED.*\[ERR_JAATO_PROXY_CONNECT\]/],
      ['origin refuses, direct', [`http://127.0.0.1:${closedPort}/`], none, 7, /ECONNREFUSED/],
      ['TLS to a plain-HTTP server', [`https://127.0.0.1:${lab.origins.http.port}/`], none, 35, /^jaato-proxy: TLS handshake failed: wrong version number\n$/],
      ['tunnel refused by Squid', [`https://127.0.0.1:${closedPort}/`], labEnv(lab), 56, /did not open a tunnel .*403 Forbidden \[ERR_JAATO_PROXY_TUNNEL\]/],
      ['unwritable -o', ['-o', '/nonexistent/out', `${http}/x`], labEnv(lab), 23, /^jaato-proxy: -o\/--output \/nonexistent\/out: cannot write/],
      ['unreadable -d @file', ['-d', '@/nonexistent', `${http}/x`], labEnv(lab), 26, /^jaato-proxy: -d\/--data @\/nonexistent: cannot read the file/],
      ['unreadable --cacert', ['--cacert', '/nonexistent', `${https}/x`], labEnv(lab), 77, /^jaato-proxy: --cacert \/nonexistent: cannot read the CA file/],
      ['unreadable --proxy-cacert', ['--proxy-cacert', '/nonexistent', `${https}/x`], labEnv(lab), 77, /^jaato-proxy: --proxy-cacert \/nonexistent/],
      ['no Kerberos ticket', [`${http}/x`], labEnv(lab, { KRB5CCNAME: `FILE:${join(lab.dir, 'none')}` }), 1, /requires authentication \(407; offers: Negotiate\).*\[ERR_JAATO_PROXY_AUTH\]\n$/],
      ['ftp', ['ftp://x/'], none, 1, /protocol "ftp" is not supported/],
    ];
    for (const [name, args, env, code, stderr] of rows) {
      const r = await fetchCli(args, env);
      assert.equal(r.code, code, `${name}: ${r.stderr}`);
      assert.match(r.stderr, stderr, name);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
    }
    assert.equal(existsSync('/nonexistent/out'), false);
  });

  test('-o: the body to a file (nothing made for -f on an error), -o - is stdout', async () => {
    const out = join(ctx.lab.dir, 'body.bin');
    const r = await fetchCli(['-o', out, `${http}/bytes/4096`]);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    assert.equal(readFileSync(out).length, 4096);
    const missing = join(ctx.lab.dir, 'never.txt');
    assert.equal((await fetchCli(['-f', '-o', missing, `${http}/status/404`])).code, 22);
    assert.equal(existsSync(missing), false);
    assert.equal(echo(await fetchCli(['-o', '-', `${http}/dash`])).url, '/dash');
  });
  test('the long spellings mean what the short ones do: --request --header --user --user-agent --output --include --location --fail --silent --show-error --write-out --insecure --verbose --head', async () => {
    const out = join(ctx.lab.dir, 'long.out');
    const to = `${https}/long-target`;
    const r = await fetchCli([
      '--request', 'PUT', '--header', 'x-long: 1', '--user', 'u:p', '--user-agent', 'long/1', '--output', out, '--include', '--location',
      '--fail', '--silent', '--show-error', '--write-out', '%{http_code} %{num_redirects}', '--insecure', '--verbose', `${https}/moved/307?to=${encodeURIComponent(to)}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '200 1');
    assert.match(r.stderr, /\* route: proxy via /);
    const blocks = readFileSync(out, 'utf8').split('\r\n\r\n');
    assert.match(blocks[0] ?? '', /^HTTP\/1\.1 307 /);
    const seen = JSON.parse(blocks.at(-1) ?? '') as EchoReply;
    assert.deepEqual([seen.method, seen.url, seen.headers['x-long'], seen.headers['user-agent'], seen.headers.authorization], ['PUT', '/long-target', '1', 'long/1', `Basic ${Buffer.from('u:p').toString('base64')}`]);
    const failed = await fetchCli(['--fail', '--silent', '--show-error', `${http}/status/404`]);
    assert.deepEqual(failed, { code: 22, stdout: '', stderr: 'jaato-proxy: The requested URL returned error: 404\n' });
    const head = await fetchCli(['--head', `${http}/long-head`]);
    assert.match(head.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  });
});
