import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { logSince, quietLogLength } from '../helpers/lab.js';
import { labEnv } from './helpers.js';
import { blackHole, ca, closedPort, http, https, tlsProxy, useFetchCli } from './fetch-fixture.js';

// jaato-proxy fetch against the real lab: curl's proxy, certificate and timeout flags and its exit
// codes, each asserting what curl would do. What it sends and prints: fetch-output.test.ts.
describe('jaato-proxy fetch, as curl: proxies, timeouts and exit codes', () => {
  const { ctx, fetchCli, echo } = useFetchCli();

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
});
