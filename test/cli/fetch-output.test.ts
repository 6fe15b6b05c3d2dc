import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EchoReply } from '../../lab/origin.js';
import { CLI, labEnv } from './helpers.js';
import { ca, closedPort, http, https, useFetchCli } from './fetch-fixture.js';

// jaato-proxy fetch against the real lab, one test per curl flag (or family), each asserting what
// curl would do: the request it sends, what it prints, redirects and files. The flags and exit codes are
// the README's tables. The proxy and network flags: fetch-network.test.ts (two files, so that each runs
// well within the per-file bound on a loaded machine).
describe('jaato-proxy fetch, as curl: what it sends and prints', () => {
  const { ctx, fetchCli, echo, sha256 } = useFetchCli();

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
