import { test } from 'node:test';
import assert from 'node:assert/strict';
import { integerOption, parseCommand, secondsOption, usageFromParseError } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/errors.js';
import { exitCodeFor, failureMessage, FETCH_EXIT } from '../../src/cli/fetch/exit-codes.js';
import { DataFileError, redirectHop, requestBody, type DataPart } from '../../src/cli/fetch/request.js';
import { formatWriteOut, WRITE_OUT_VARIABLES, type TransferReport } from '../../src/cli/fetch/write-out.js';
import { useColor } from '../../src/cli/style.js';
import { parseProxyUrl } from '../../src/config/proxy-url.js';
import { InvalidTargetUrlError } from '../../src/config/errors.js';
import { ProxyAuthenticationError, ProxyConnectionError, ProxyTimeoutError, ProxyTunnelError } from '../../src/transport/errors.js';

const proxy = parseProxyUrl('http://proxy.corp:3128', 'HTTPS_PROXY');
const sys = (code: string, message = code): Error => Object.assign(new Error(message), { code });
/** What Node's fetch rejects with: `TypeError: fetch failed` and the real error as its cause. */
const fetchFailed = (cause: unknown): TypeError => new TypeError('fetch failed', { cause });

test('exit codes: curl\'s number for each kind of failure, through fetch\'s wrapping', () => {
  const rows: ReadonlyArray<[string, unknown, number]> = [
    ['proxy refused', fetchFailed(new ProxyConnectionError(proxy, 'ECONNREFUSED', sys('ECONNREFUSED'))), 7],
    ['proxy unreachable', fetchFailed(new ProxyConnectionError(proxy, 'EHOSTUNREACH', sys('EHOSTUNREACH'))), 7],
    ['proxy name unknown', fetchFailed(new ProxyConnectionError(proxy, 'ENOTFOUND', sys('ENOTFOUND'))), 5],
    ['proxy certificate untrusted', fetchFailed(new ProxyConnectionError(proxy, 'x', sys('UNABLE_TO_VERIFY_LEAF_SIGNATURE'))), 60],
    ['proxy certificate for another name', fetchFailed(new ProxyConnectionError(proxy, 'x', sys('ERR_TLS_CERT_ALTNAME_INVALID'))), 60],
    ['proxy TLS handshake', fetchFailed(new ProxyConnectionError(proxy, 'x', sys('ERR_SSL_WRONG_VERSION_NUMBER'))), 35],
    ['proxy alert about our certificate', fetchFailed(new ProxyConnectionError(proxy, 'x', sys('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'))), 35],
    ['proxy connection broke under a request', fetchFailed(new ProxyConnectionError(proxy, 'x', sys('UND_ERR_SOCKET'), 'GET http://x')), 56],
    ['proxy timeout', fetchFailed(new ProxyTimeoutError(proxy, 'connecting to', 10, 'connect')), 28],
    ['tunnel refused', fetchFailed(new ProxyTunnelError(proxy, 'x:443', 'the proxy answered 403 Forbidden', 403)), 56],
    ['proxy authentication', fetchFailed(new ProxyAuthenticationError(proxy, ['negotiate'], 'no ticket')), 1],
    ['unroutable URL', fetchFailed(new InvalidTargetUrlError('x')), 3],
    ['origin name unknown (direct)', fetchFailed(sys('ENOTFOUND')), 6],
    ['origin DNS try again', fetchFailed(sys('EAI_AGAIN')), 6],
    ['origin refused (direct)', fetchFailed(sys('ECONNREFUSED')), 7],
    ['origin connect timeout (direct)', fetchFailed(sys('UND_ERR_CONNECT_TIMEOUT')), 28],
    ['origin headers timeout', fetchFailed(sys('UND_ERR_HEADERS_TIMEOUT')), 28],
    ['origin certificate self-signed', fetchFailed(sys('DEPTH_ZERO_SELF_SIGNED_CERT')), 60],
    ['origin certificate expired', fetchFailed(sys('CERT_HAS_EXPIRED')), 60],
    ['origin TLS handshake', fetchFailed(sys('ERR_SSL_WRONG_VERSION_NUMBER')), 35],
    ['origin reset', fetchFailed(sys('ECONNRESET')), 56],
    ['origin socket closed', fetchFailed(sys('UND_ERR_SOCKET')), 56],
    ['a bad URL', fetchFailed(sys('ERR_INVALID_URL')), 3],
    ['anything else', new Error('what'), 1],
    ['not even an Error', 'what', 1],
  ];
  for (const [name, error, code] of rows) assert.equal(exitCodeFor(error), code, name);
  assert.equal(FETCH_EXIT.httpError, 22);
  assert.equal(FETCH_EXIT.tooManyRedirects, 47);
});

test('failure messages: ours with its code, else the innermost; the option that fixes a certificate error', () => {
  const refused = fetchFailed(new ProxyConnectionError(proxy, 'ECONNREFUSED', sys('ECONNREFUSED')));
  assert.equal(failureMessage(refused, 7), 'Cannot connect to proxy http://proxy.corp:3128/ (from HTTPS_PROXY): ECONNREFUSED [ERR_JAATO_PROXY_CONNECT]');
  assert.equal(failureMessage(fetchFailed(sys('ENOTFOUND', 'getaddrinfo ENOTFOUND x.invalid')), 6), 'getaddrinfo ENOTFOUND x.invalid');
  assert.match(failureMessage(fetchFailed(sys('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate')), 60), /^unable to verify the first certificate \(trust the origin's CA with --cacert <file>, or skip the check with -k\)$/);
  assert.match(failureMessage(fetchFailed(new ProxyConnectionError(proxy, 'x', sys('SELF_SIGNED_CERT_IN_CHAIN'))), 60), /--proxy-cacert <file>, or skip the check with --proxy-insecure\)$/);
  // An expired certificate is not fixed by a CA: the hint is the clock or a renewal.
  const expired = failureMessage(fetchFailed(sys('CERT_HAS_EXPIRED', 'certificate has expired')), 60);
  assert.equal(expired, "certificate has expired (the certificate is expired: check this machine's clock; if it is right, the certificate must be renewed)");
  assert.match(failureMessage(fetchFailed(new ProxyConnectionError(proxy, 'x', sys('CERT_NOT_YET_VALID'))), 60), /\(the certificate is not valid yet: check this machine's clock/);
  const ssl = Object.assign(sys('ERR_SSL_WRONG_VERSION_NUMBER', '80DC0FAF957F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl3_record.c:350:'), { reason: 'wrong version number' });
  assert.equal(failureMessage(fetchFailed(ssl), 35), 'TLS handshake failed: wrong version number');
});

const REPORT: TransferReport = {
  httpCode: 302,
  sizeDownload: 1234,
  sizeUpload: 12,
  timeTotalMs: 1234.5678,
  urlEffective: 'https://x/a?b',
  contentType: 'application/json',
  numRedirects: 2,
  redirectUrl: 'https://x/next',
  exitCode: 0,
  errorMessage: null,
  method: 'POST',
};

test('-w: every variable, %% and the escapes; unknown variables expand to nothing and are reported', () => {
  const rows: ReadonlyArray<[string, string, Partial<TransferReport>?]> = [
    ['%{http_code}', '302'],
    ['%{response_code}', '302'],
    ['%{http_code}', '000', { httpCode: 0 }],
    ['%{size_download}', '1234'],
    ['%{size_upload}', '12'],
    ['%{time_total}', '1.234568'],
    ['%{url_effective}', 'https://x/a?b'],
    ['%{content_type}', 'application/json'],
    ['%{content_type}|', '|', { contentType: null }],
    ['%{num_redirects}', '2'],
    ['%{redirect_url}', 'https://x/next'],
    ['%{redirect_url}|', '|', { redirectUrl: null }],
    ['%{exitcode}', '28', { exitCode: 28 }],
    ['%{errormsg}', 'boom', { errorMessage: 'boom' }],
    ['%{method}', 'POST'],
    ['a\\nb\\tc\\rd\\\\e', 'a\nb\tc\rd\\e'],
    ['100%% %{http_code}\\n', '100% 302\n'],
    ['\\x stays', '\\x stays'],
    ['%{', '%{'],
  ];
  for (const [format, expected, change] of rows) {
    const r = formatWriteOut(format, { ...REPORT, ...change });
    assert.deepEqual(r, { text: expected, unknown: [] }, format);
  }
  assert.deepEqual(formatWriteOut('%{nosuch}-%{http_code}', REPORT), { text: '-302', unknown: ['nosuch'] });
  assert.deepEqual(WRITE_OUT_VARIABLES, ['http_code', 'response_code', 'size_download', 'size_upload', 'time_total', 'url_effective', 'content_type', 'num_redirects', 'redirect_url', 'exitcode', 'errormsg', 'method']);
});

test('request body: -d strips newlines from @file and joins with &; --data-binary as is; --json; --data-raw keeps @', () => {
  const files: Record<string, string> = { 'form.txt': 'a=1\r\nb=2\n', 'bin.txt': 'x\ny\n', 'j.json': '{"a":\n1}\n' };
  const read = (path: string): Buffer => {
    const content = files[path];
    if (content === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return Buffer.from(content);
  };
  const body = (parts: DataPart[]): [string, string, string | undefined] | undefined => {
    const b = requestBody(parts, read);
    return b && [b.body.toString(), b.contentType, b.accept];
  };
  const FORM = 'application/x-www-form-urlencoded';
  assert.equal(body([]), undefined);
  assert.deepEqual(body([{ kind: 'data', value: 'a=1' }]), ['a=1', FORM, undefined]);
  assert.deepEqual(body([{ kind: 'data', value: '@form.txt' }]), ['a=1b=2', FORM, undefined]);
  assert.deepEqual(body([{ kind: 'data', value: 'x=1' }, { kind: 'data-binary', value: '@bin.txt' }, { kind: 'data-raw', value: '@form.txt' }]), ['x=1&x\ny\n&@form.txt', FORM, undefined]);
  assert.deepEqual(body([{ kind: 'json', value: '@j.json' }, { kind: 'json', value: '' }]), ['{"a":\n1}\n', 'application/json', 'application/json']);
  assert.deepEqual(body([{ kind: 'json', value: '{"a":' }, { kind: 'json', value: '1}' }]), ['{"a":1}', 'application/json', 'application/json']);
  assert.throws(() => body([{ kind: 'json', value: '{}' }, { kind: 'data', value: 'a' }]), TypeError);
  assert.throws(() => body([{ kind: 'data', value: '@missing' }]), (e: unknown) => e instanceof DataFileError && /^-d\/--data @missing: cannot read the file/.test(e.message));
  assert.throws(() => body([{ kind: 'data-binary', value: '@missing' }]), (e: unknown) => e instanceof DataFileError && /^--data-binary @missing/.test(e.message));
});

test('redirects as curl -L makes them: 303 → GET, POST on 301/302 → GET, 307/308 repeat; -X stays; a new origin is flagged', () => {
  const from = new URL('http://a.example/p/q');
  const rows: ReadonlyArray<[status: number, method: string, custom: boolean, location: string, expected: [string, string, boolean, boolean] | undefined]> = [
    [301, 'GET', false, '/x', ['http://a.example/x', 'GET', true, false]],
    [302, 'POST', false, 'r', ['http://a.example/p/r', 'GET', false, false]],
    [301, 'PUT', false, '/x', ['http://a.example/x', 'PUT', true, false]],
    [303, 'PUT', false, '/x', ['http://a.example/x', 'GET', false, false]],
    [303, 'HEAD', false, '/x', ['http://a.example/x', 'HEAD', true, false]],
    [307, 'POST', false, '/x', ['http://a.example/x', 'POST', true, false]],
    [308, 'POST', false, '/x', ['http://a.example/x', 'POST', true, false]],
    [302, 'POST', true, '/x', ['http://a.example/x', 'POST', false, false]],
    [302, 'GET', false, 'https://a.example/x', ['https://a.example/x', 'GET', true, true]],
    [302, 'GET', false, 'http://a.example:8080/x', ['http://a.example:8080/x', 'GET', true, true]],
    [302, 'GET', false, '//b.example/x', ['http://b.example/x', 'GET', true, true]],
    [302, 'GET', false, 'http://[', undefined],
  ];
  for (const [status, method, custom, location, expected] of rows) {
    const hop = redirectHop(from, status, location, method, custom);
    assert.deepEqual(hop && [hop.url.href, hop.method, hop.keepBody, hop.crossOrigin], expected, `${status} ${method} ${location}`);
  }
});

const OPTS = { 'max-time': { type: 'string', short: 'm' }, data: { type: 'string', short: 'd', multiple: true }, silent: { type: 'boolean', short: 's' }, json: { type: 'boolean' } } as const;

test('arguments: a value is taken whatever it looks like; extra positionals and parseArgs errors are usage errors naming the option', () => {
  const p = parseCommand('fetch', ['-m', '-1', '-d', '-x', '--data', '--', '-s', 'u'], OPTS, { max: 1, what: 'one URL' });
  assert.deepEqual([p.values['max-time'], p.values.data, p.values.silent, p.positionals], ['-1', ['-x', '--'], true, ['u']]);
  assert.deepEqual(parseCommand('fetch', ['--', '-m'], OPTS, { max: 1 }).positionals, ['-m'], 'after --, nothing is an option');
  assert.throws(() => parseCommand('fetch', ['u', 'v'], OPTS, { max: 1, what: 'one URL' }), (e: unknown) => e instanceof UsageError && e.message === 'fetch: unexpected argument "v": fetch takes one URL (see jaato-proxy fetch --help)');
  const rows: ReadonlyArray<[string[], string]> = [
    [['--nosuch'], 'fetch: unknown option "--nosuch" (see jaato-proxy fetch --help)'],
    [['-L'], 'fetch: unknown option "-L" (see jaato-proxy fetch --help)'],
    [['-m'], 'fetch: -m/--max-time needs a value (see jaato-proxy fetch --help)'],
    [['--json=1'], 'fetch: --json takes no value (see jaato-proxy fetch --help)'],
  ];
  for (const [args, message] of rows) {
    let caught: unknown;
    try {
      parseCommand('fetch', args, OPTS, { max: 1 });
    } catch (error) {
      caught = error;
    }
    assert.equal(usageFromParseError('fetch', caught)?.message, message, args.join(' '));
  }
  assert.equal(usageFromParseError('fetch', new Error('not ours')), undefined);
});

test('numbers: seconds with fractions, whole numbers in range; anything else a usage error naming the option', () => {
  assert.equal(secondsOption('2.5', '-m/--max-time'), 2500);
  assert.equal(secondsOption('0', '-m/--max-time'), 0);
  assert.equal(secondsOption('.25', '-m/--max-time'), 250);
  assert.equal(secondsOption(undefined, '-m/--max-time'), undefined);
  for (const bad of ['-1', 'abc', '', ' ', 'Infinity', 'NaN', '1s']) {
    assert.throws(() => secondsOption(bad, '-m/--max-time'), (e: unknown) => e instanceof UsageError && e.message.startsWith(`-m/--max-time "${bad}" is not a number of seconds`), bad);
  }
  assert.equal(integerOption('-1', '--max-redirs', 'a number of redirects', -1), -1);
  assert.equal(integerOption('7', '--max-redirs', 'a number of redirects', -1), 7);
  for (const bad of ['x', '1.5', '-2', '', '1e3']) {
    assert.throws(() => integerOption(bad, '--max-redirs', 'a number of redirects', -1), (e: unknown) => e instanceof UsageError && e.message === `--max-redirs "${bad}" is not a number of redirects`, bad);
  }
});

test('colour: FORCE_COLOR wins (0/false off), a non-empty NO_COLOR turns it off, an empty one does not; else only on a terminal', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  const rows: ReadonlyArray<[{ isTTY: boolean }, Record<string, string>, boolean]> = [
    [tty, {}, true],
    [pipe, {}, false],
    [tty, { NO_COLOR: '1' }, false],
    [tty, { NO_COLOR: '' }, true],
    [tty, { TERM: 'dumb' }, false],
    [pipe, { FORCE_COLOR: '1' }, true],
    [pipe, { FORCE_COLOR: 'true' }, true],
    [pipe, { FORCE_COLOR: '3' }, true],
    [tty, { FORCE_COLOR: '0' }, false],
    [tty, { FORCE_COLOR: 'false' }, false],
    [pipe, { FORCE_COLOR: '' }, false],
    [tty, { FORCE_COLOR: '' }, true],
    [pipe, { FORCE_COLOR: '1', NO_COLOR: '1' }, true],
    [tty, { FORCE_COLOR: '0', NO_COLOR: '' }, false],
    [pipe, { FORCE_COLOR: '1', TERM: 'dumb' }, true],
  ];
  for (const [stream, env, expected] of rows) assert.equal(useColor(stream, env), expected, `${stream.isTTY ? 'tty' : 'pipe'} ${JSON.stringify(env)}`);
});
