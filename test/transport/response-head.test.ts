// The proxy-answer reader, fed directly: a table of every adversarial input found so far (one subtest
// per row, so one failure does not hide the rest) and properties over arbitrary splits and garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { offeredSchemes, parseChallenges } from '../../src/auth/challenge.js';
import { HEAD_LIMITS, readResponseHead, ResponseHeadError, type BodyFraming, type ResponseHead } from '../../src/transport/response-head.js';

type Outcome =
  | { state: 'pending' }
  | { state: 'resolved'; head: ResponseHead; unread: Buffer; chunksFed: number }
  | { state: 'rejected'; error: unknown; chunksFed: number };

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Writes the chunks one at a time (the reader sees each as it arrives) and stops at the first that
 * settles it; `end` closes the stream afterwards. For a tunnel, the chunks not yet written are written
 * after it settled; `unread` is then everything the next reader of the socket would get.
 */
async function feed(method: string, chunks: readonly Buffer[], end: boolean): Promise<Outcome> {
  const s = new PassThrough();
  let settled: { head: ResponseHead } | { error: unknown } | undefined;
  readResponseHead(s, { method }).then(
    (head) => (settled = { head }),
    (error: unknown) => (settled = { error }),
  );
  let fed = 0;
  while (fed < chunks.length && !settled) {
    s.write(chunks[fed++]);
    await tick();
  }
  if (!settled && end) s.end();
  for (let i = 0; i < 5 && !settled; i++) await tick();
  if (!settled) return { state: 'pending' };
  if ('error' in settled) return { state: 'rejected', error: settled.error, chunksFed: fed };
  if (settled.head.framing.kind === 'tunnel') for (const c of chunks.slice(fed)) s.write(c);
  await tick();
  const parts: Buffer[] = [];
  for (let b = s.read() as Buffer | null; b !== null; b = s.read() as Buffer | null) parts.push(b);
  return { state: 'resolved', head: settled.head, unread: Buffer.concat(parts), chunksFed: fed };
}

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

interface Row {
  name: string;
  /** The request's method; CONNECT unless said. */
  method?: string;
  /** What the proxy sends, in chunks (latin1). */
  input: string | string[];
  /** Close the connection after the input. Off by default: a malformed answer must fail without it. */
  end?: boolean;
  expect:
    | { status: number; framing: BodyFraming; unread?: string; headers?: Record<string, string[]>; offered?: string[]; text?: string }
    | { error: 'malformed' | 'closed'; message: RegExp };
}

const NONE: BodyFraming = { kind: 'none' };
const TUNNEL: BodyFraming = { kind: 'tunnel' };
const CHUNKED: BodyFraming = { kind: 'chunked' };
const CLOSE: BodyFraming = { kind: 'close' };
const length = (n: number): BodyFraming => ({ kind: 'length', length: n });
const P407 = 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\n';
const bad = (message: RegExp): Row['expect'] => ({ error: 'malformed', message });

const ROWS: Row[] = [
  // Content-Length (RFC 9110 §8.6, RFC 9112 §6.3)
  { name: 'two different Content-Length fields', input: `${P407}Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde`, expect: bad(/two different Content-Length values \(3 and 5\)/) },
  { name: 'two different Content-Length members in one field', input: `${P407}Content-Length: 3, 5\r\n\r\n`, expect: bad(/two different Content-Length values/) },
  { name: 'Content-Length: 5, 5 is one length', method: 'GET', input: `${P407}Content-Length: 5, 5\r\n\r\nabcde`, expect: { status: 407, framing: length(5), unread: '' } },
  { name: 'the same Content-Length twice is one length', method: 'GET', input: `${P407}Content-Length: 5\r\nContent-Length: 5\r\n\r\n`, expect: { status: 407, framing: length(5) } },
  { name: 'Content-Length: 5, 05 (not the same digits)', input: `${P407}Content-Length: 5, 05\r\n\r\n`, expect: bad(/two different Content-Length values/) },
  { name: 'Content-Length: -1', input: `${P407}Content-Length: -1\r\n\r\n`, expect: bad(/Content-Length "-1" is not a decimal length/) },
  { name: 'Content-Length: 1e1', input: `${P407}Content-Length: 1e1\r\n\r\n`, expect: bad(/Content-Length "1e1"/) },
  { name: 'Content-Length: 0x10', input: `${P407}Content-Length: 0x10\r\n\r\n`, expect: bad(/Content-Length "0x10"/) },
  { name: 'Content-Length: +5', input: `${P407}Content-Length: +5\r\n\r\n`, expect: bad(/Content-Length "\+5"/) },
  { name: 'Content-Length: abc on a 407 (once waited out the whole timeout)', input: `${P407}Content-Length: abc\r\n\r\n`, expect: bad(/Content-Length "abc"/) },
  { name: 'Content-Length empty', input: `${P407}Content-Length:\r\n\r\n`, expect: bad(/Content-Length "" is not a decimal length/) },
  { name: 'Content-Length: 5,,5 (an empty member)', input: `${P407}Content-Length: 5,,5\r\n\r\n`, expect: bad(/not a decimal length/) },
  { name: 'Content-Length of 16 digits', input: `${P407}Content-Length: 1234567890123456\r\n\r\n`, expect: bad(/not a decimal length/) },
  { name: 'Content-Length : 3 (white space before the colon)', input: `${P407}Content-Length : 3\r\n\r\nabc`, expect: bad(/white space between the field name "Content-Length" and the colon/) },
  { name: 'Content-Length\\t: 3 (a tab before the colon)', input: `${P407}Content-Length\t: 3\r\n\r\n`, expect: bad(/white space between the field name/) },
  // Transfer-Encoding (RFC 9112 §6.1, §6.3, §7)
  { name: 'Transfer-Encoding: chunked with Content-Length', input: `${P407}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n`, expect: bad(/both Transfer-Encoding and Content-Length/) },
  { name: 'Content-Length with Transfer-Encoding: chunked (other order)', method: 'GET', input: `${P407}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`, expect: bad(/both Transfer-Encoding and Content-Length/) },
  { name: 'Transfer-Encoding: chunked, gzip (chunked not final: until close)', input: `${P407}Transfer-Encoding: chunked, gzip\r\n\r\n`, expect: { status: 407, framing: CLOSE } },
  { name: 'Transfer-Encoding: gzip, chunked', input: `${P407}Transfer-Encoding: gzip, chunked\r\n\r\n`, expect: { status: 407, framing: CHUNKED } },
  { name: 'Transfer-Encoding over two fields, chunked last', input: `${P407}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n`, expect: { status: 407, framing: CHUNKED } },
  { name: 'Transfer-Encoding: chunked, chunked', input: `${P407}Transfer-Encoding: chunked, chunked\r\n\r\n`, expect: bad(/chunked applied twice/) },
  { name: 'Transfer-Encoding: xchunked (not chunked)', input: `${P407}Transfer-Encoding: xchunked\r\n\r\n`, expect: { status: 407, framing: CLOSE } },
  { name: 'Transfer-Encoding empty', input: `${P407}Transfer-Encoding: \r\n\r\n`, expect: bad(/an empty Transfer-Encoding/) },
  { name: 'Transfer-Encoding: "chunked" (not a token)', input: `${P407}Transfer-Encoding: "chunked"\r\n\r\n`, expect: bad(/is not a list of codings/) },
  { name: 'Transfer-Encoding in an HTTP/1.0 answer (faulty framing: until close)', input: 'HTTP/1.0 407 No\r\nTransfer-Encoding: chunked\r\n\r\n', expect: { status: 407, framing: CLOSE } },
  // Chunked bodies are never read, so no chunk size can hang or desync the reader.
  { name: 'negative chunk size (once hung): the body is not read', input: `${P407}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n`, expect: { status: 407, framing: CHUNKED, unread: '' } },
  { name: 'chunk size 1g: the body is not read', input: `${P407}Transfer-Encoding: chunked\r\n\r\n1g\r\nx\r\n`, expect: { status: 407, framing: CHUNKED, unread: '' } },
  { name: 'a 407 body that looks like a 200 is not handed on', input: `${P407}Content-Length: 0\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n`, expect: { status: 407, framing: length(0), unread: '' } },
  { name: '407 with its body in a later chunk: nothing read past the head', input: [`${P407}Content-Length: 5\r\n\r\n`, 'abcdeNEXT'], expect: { status: 407, framing: length(5), unread: '' } },
  { name: 'no length, no coding: until close', input: 'HTTP/1.1 407 No\r\n\r\nbody', expect: { status: 407, framing: CLOSE, unread: '' } },
  // 1xx (RFC 9110 §15.2)
  { name: '100 Continue then the 407 (the 100 was once returned)', input: `HTTP/1.1 100 Continue\r\n\r\n${P407}Content-Length: 0\r\n\r\n`, expect: { status: 407, framing: length(0) } },
  { name: '100, 102 and 103 then the 407, in separate chunks', input: ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n', P407, '\r\n'], expect: { status: 407, framing: CLOSE } },
  { name: '103 then 200 to CONNECT: the tunnel bytes are kept', input: 'HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01', expect: { status: 200, framing: TUNNEL, unread: '\x16\x03\x01' } },
  { name: '101 Switching Protocols (never asked for)', input: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', expect: bad(/101 Switching Protocols/) },
  { name: '100 Continue then close', input: 'HTTP/1.1 100 Continue\r\n\r\n', end: true, expect: { error: 'closed', message: /in the middle of its answer/ } },
  // No body: HEAD, 204, 304 (RFC 9112 §6.3 rule 1)
  { name: '407 to HEAD with Content-Length: 1234 (once hung: the cause of doctor http://)', method: 'HEAD', input: `${P407}Content-Length: 1234\r\n\r\n`, expect: { status: 407, framing: NONE, unread: '' } },
  { name: '200 to HEAD with Transfer-Encoding: chunked', method: 'HEAD', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', expect: { status: 200, framing: NONE } },
  { name: '407 to HEAD with Content-Length: abc is still malformed', method: 'HEAD', input: `${P407}Content-Length: abc\r\n\r\n`, expect: bad(/Content-Length "abc"/) },
  { name: '407 to GET with Content-Length', method: 'GET', input: `${P407}Content-Length: 1234\r\n\r\n`, expect: { status: 407, framing: length(1234) } },
  { name: '204 and its Content-Length', method: 'GET', input: 'HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n', expect: { status: 204, framing: NONE } },
  { name: '304', method: 'GET', input: 'HTTP/1.1 304 Not Modified\r\n\r\n', expect: { status: 304, framing: NONE } },
  // CONNECT (RFC 9110 §9.3.6)
  { name: '200 to CONNECT: the bytes after the head stay for the tunnel', input: ['HTTP/1.1 200 Connection established\r\n', 'Via: x\r\n\r\n\x16\x03\x01'], expect: { status: 200, framing: TUNNEL, unread: '\x16\x03\x01', text: 'Connection established' } },
  { name: '200 to CONNECT with Content-Length and Transfer-Encoding: both ignored', input: 'HTTP/1.1 200 OK\r\nContent-Length: abc\r\nTransfer-Encoding: chunked\r\n\r\nTLS', expect: { status: 200, framing: TUNNEL, unread: 'TLS' } },
  { name: '200 to CONNECT split byte by byte, tunnel bytes after it', input: [...'HTTP/1.1 200 OK\r\n\r\n', 'hello'], expect: { status: 200, framing: TUNNEL, unread: 'hello' } },
  { name: '200 to GET is not a tunnel: nothing handed on', method: 'GET', input: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', expect: { status: 200, framing: length(5), unread: '' } },
  { name: '403 to CONNECT', input: 'HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno', expect: { status: 403, framing: length(2), unread: '', text: 'Forbidden' } },
  // Fields (RFC 9112 §2.2, §5; RFC 9110 §5.5)
  {
    name: 'repeated challenges are all kept, names in lower case',
    input: `HTTP/1.1 407 No\r\nProxy-Authenticate: Negotiate\r\nPROXY-AUTHENTICATE: Basic realm="x"\r\n\r\n`,
    expect: { status: 407, framing: CLOSE, headers: { 'proxy-authenticate': ['Negotiate', 'Basic realm="x"'] }, offered: ['negotiate', 'basic'] },
  },
  {
    name: 'obs-fold in Proxy-Authenticate (once dropped with its challenge): replaced by SP (RFC 9112 §5.2)',
    input: `HTTP/1.1 407 No\r\nProxy-Authenticate: Basic realm="corp",\r\n \t Negotiate\r\nContent-Length: 0\r\n\r\n`,
    expect: { status: 407, framing: length(0), headers: { 'proxy-authenticate': ['Basic realm="corp", Negotiate'], 'content-length': ['0'] }, offered: ['basic', 'negotiate'] },
  },
  { name: 'obs-fold in Content-Length ("1 2")', input: `HTTP/1.1 407 No\r\nContent-Length: 1\r\n 2\r\n\r\n`, expect: bad(/Content-Length "1 2"/) },
  { name: 'white space before the first field', input: 'HTTP/1.1 407 No\r\n Content-Length: 5\r\n\r\n', expect: bad(/white space before the first header field/) },
  { name: 'bare LF after the status line', input: 'HTTP/1.1 407 No\nContent-Length: 0\n\n', expect: bad(/bare LF/) },
  { name: 'bare LF ending the head', input: 'HTTP/1.1 200 OK\r\nVia: x\r\n\n', expect: bad(/bare LF/) },
  { name: 'bare CR inside a field, refused before the line ends', input: 'HTTP/1.1 407 No\r\nX: a\rb', expect: bad(/bare CR/) },
  { name: 'NUL in a field value', input: 'HTTP/1.1 407 No\r\nProxy-Authenticate: Nego\x00tiate\r\n\r\n', expect: bad(/a control character in the Proxy-Authenticate field/) },
  { name: 'DEL in a field value', input: 'HTTP/1.1 407 No\r\nX: \x7f\r\n\r\n', expect: bad(/a control character/) },
  { name: 'obs-text in a field value is allowed', input: 'HTTP/1.1 407 No\r\nX: caf\xe9\r\n\r\n', expect: { status: 407, framing: CLOSE, headers: { x: ['caf\xe9'] } } },
  { name: 'a space inside a field name', input: 'HTTP/1.1 407 No\r\nProxy Authenticate: Negotiate\r\n\r\n', expect: bad(/an invalid field name "Proxy Authenticate"/) },
  { name: 'an empty field name', input: 'HTTP/1.1 407 No\r\n: Negotiate\r\n\r\n', expect: bad(/an invalid field name ""/) },
  { name: 'a field line without a colon', input: 'HTTP/1.1 407 No\r\nNegotiate\r\n\r\n', expect: bad(/a header line without a colon/) },
  { name: 'OWS around a value is trimmed', input: 'HTTP/1.1 407 No\r\nProxy-Authenticate: \t Negotiate \t\r\n\r\n', expect: { status: 407, framing: CLOSE, headers: { 'proxy-authenticate': ['Negotiate'] } } },
  // Status line (RFC 9112 §4)
  { name: 'not HTTP (an SSH banner), refused at the first bytes', input: 'SSH-2.0-OpenSSH_9', expect: bad(/does not start with HTTP\/1\.x: "SSH-2\.0-OpenSSH_9"/) },
  { name: 'TLS bytes (a TLS proxy spoken to in plain text)', input: '\x15\x03\x01\x00\x02\x02\x0a', expect: bad(/does not start with HTTP\/1\.x/) },
  { name: 'HTTP/2 status line', input: 'HTTP/2 200', expect: bad(/does not start with HTTP\/1\.x/) },
  { name: 'HTTP/1.2', input: 'HTTP/1.2 200 OK\r\n\r\n', expect: bad(/a bad status line "HTTP\/1\.2 200 OK"/) },
  { name: 'status code 600', input: 'HTTP/1.1 600 What\r\n\r\n', expect: bad(/a bad status line/) },
  { name: 'status code 099', input: 'HTTP/1.1 099 What\r\n\r\n', expect: bad(/a bad status line/) },
  { name: 'two-digit status code', input: 'HTTP/1.1 20 OK\r\n\r\n', expect: bad(/a bad status line/) },
  { name: 'two spaces after the version', input: 'HTTP/1.1  200 OK\r\n\r\n', expect: bad(/a bad status line/) },
  { name: 'a control character in the reason phrase', input: 'HTTP/1.1 200 O\x01K\r\n\r\n', expect: bad(/a bad status line/) },
  { name: 'no reason phrase', input: 'HTTP/1.1 200\r\n\r\nT', expect: { status: 200, framing: TUNNEL, unread: 'T', text: '' } },
  { name: 'HTTP/1.0 200 to CONNECT', input: 'HTTP/1.0 200 Connection established\r\n\r\n', expect: { status: 200, framing: TUNNEL } },
  // Bounds
  { name: `more than ${HEAD_LIMITS.fields} fields`, input: `HTTP/1.1 407 No\r\n${'X: y\r\n'.repeat(HEAD_LIMITS.fields + 1)}\r\n`, expect: bad(/more than 100 header fields/) },
  { name: `exactly ${HEAD_LIMITS.fields} fields`, input: `HTTP/1.1 407 No\r\n${'X: y\r\n'.repeat(HEAD_LIMITS.fields)}\r\n`, expect: { status: 407, framing: CLOSE } },
  { name: 'a line longer than 16 KiB, refused before it ends', input: `HTTP/1.1 407 No\r\nX: ${'a'.repeat(HEAD_LIMITS.line)}`, expect: bad(/a line longer than 16384 bytes/) },
  { name: 'a status line longer than 16 KiB', input: `HTTP/1.1 407 ${'a'.repeat(HEAD_LIMITS.line)}`, expect: bad(/a line longer than/) },
  { name: 'a head larger than 64 KiB', input: `HTTP/1.1 407 No\r\n${`X: ${'a'.repeat(1000)}\r\n`.repeat(70)}\r\n`, expect: bad(/a head larger than 65536 bytes/) },
  { name: 'an endless run of 100 Continue', input: 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(3000), expect: bad(/a head larger than 65536 bytes/) },
  // Closed early
  { name: 'closed before any byte', input: [], end: true, expect: { error: 'closed', message: /^the proxy closed the connection without answering$/ } },
  { name: 'closed after half a status line', input: 'HTTP/1.', end: true, expect: { error: 'closed', message: /in the middle of its answer \(after 7 bytes\)/ } },
  { name: 'closed in the middle of the fields', input: 'HTTP/1.1 200 OK\r\nVia: x\r\n', end: true, expect: { error: 'closed', message: /in the middle of its answer/ } },
];

for (const row of ROWS) {
  test(`response head: ${row.name}`, async () => {
    const chunks = (typeof row.input === 'string' ? [row.input] : row.input).map(bytes);
    const out = await feed(row.method ?? 'CONNECT', chunks, row.end ?? false);
    const expect = row.expect;
    if ('error' in expect) {
      assert.equal(out.state, 'rejected', 'settled with an error, without waiting for a close or a timeout');
      if (out.state !== 'rejected') return;
      assert.ok(out.error instanceof ResponseHeadError, String(out.error));
      assert.equal(out.error.kind, expect.error);
      assert.match(out.error.message, expect.message);
      assert.doesNotMatch(out.error.message, /[\r\n]/, 'one line');
      return;
    }
    assert.equal(out.state, 'resolved', out.state === 'rejected' ? String(out.error) : 'settled without waiting for more');
    if (out.state !== 'resolved') return;
    assert.equal(out.head.statusCode, expect.status);
    assert.deepEqual(out.head.framing, expect.framing);
    if (expect.unread !== undefined) assert.equal(out.unread.toString('latin1'), expect.unread);
    if (expect.headers) assert.deepEqual(out.head.headers, expect.headers);
    if (expect.offered) assert.deepEqual(offeredSchemes(parseChallenges(out.head.headers['proxy-authenticate'])), expect.offered);
    if (expect.text !== undefined) assert.equal(out.head.statusText, expect.text);
  });
}

test('response head: a socket error before the answer is a closed-kind error carrying it', async () => {
  const s = new PassThrough();
  const p = readResponseHead(s, { method: 'CONNECT' });
  s.write('HTTP/1.1 2');
  s.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ResponseHeadError);
    assert.equal(e.kind, 'closed');
    assert.match(e.message, /ECONNRESET/);
    return true;
  });
});

// ---- Properties ----

const tchar = fc.constantFrom(...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ');
const fieldName = fc
  .array(tchar, { minLength: 1, maxLength: 12 })
  .map((a) => a.join(''))
  .filter((n) => !['content-length', 'transfer-encoding'].includes(n.toLowerCase()));
const vchar = fc.integer({ min: 0x21, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c));
/** field-content: no OWS at either end (it would be trimmed), SP and HTAB inside. */
const fieldValue = fc
  .array(fc.oneof(vchar, fc.constantFrom(' ', '\t')), { maxLength: 20 })
  .map((a) => a.join('').replace(/^[ \t]+|[ \t]+$/g, ''));
const field = fc.tuple(fieldName, fieldValue);
const reason = fc.array(fc.oneof(vchar, fc.constant(' ')), { maxLength: 20 }).map((a) => a.join(''));

interface Answer {
  method: string;
  text: string;
  status: number;
  /** Bytes after the final head (a tunnel's, or a body). */
  after: string;
}

const answer: fc.Arbitrary<Answer> = fc
  .record({
    method: fc.constantFrom('CONNECT', 'HEAD', 'GET'),
    interim: fc.array(fc.tuple(fc.constantFrom(100, 102, 103), fc.array(field, { maxLength: 2 })), { maxLength: 3 }),
    status: fc.constantFrom(200, 204, 304, 403, 407, 502),
    reason,
    fields: fc.array(field, { maxLength: 8 }),
    framing: fc.oneof(fc.constant(''), fc.nat({ max: 99999 }).map((n) => `Content-Length: ${n}\r\n`), fc.constant('Transfer-Encoding: chunked\r\n'), fc.constant('Content-Length: 7, 7\r\n')),
    after: fc.array(fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), { maxLength: 40 }).map((a) => a.join('')),
  })
  .map(({ method, interim, status, reason: r, fields, framing, after }) => {
    const lines = (fs: Array<[string, string]>): string => fs.map(([n, v]) => `${n}: ${v}\r\n`).join('');
    const pre = interim.map(([code, fs]) => `HTTP/1.1 ${code} Interim\r\n${lines(fs)}\r\n`).join('');
    return { method, status, after, text: `${pre}HTTP/1.1 ${status} ${r}\r\n${lines(fields)}${framing}\r\n${after}` };
  });

/** Cuts `text` at the given points into the chunks a socket might deliver. */
function split(text: string, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, text.length]) {
    if (p > from) out.push(bytes(text.slice(from, p)));
    from = Math.max(from, p);
  }
  return out;
}

test('property: a valid answer reads the same however the socket splits it, and only a tunnel hands bytes on', async () => {
  await fc.assert(
    fc.asyncProperty(answer, fc.array(fc.nat(), { maxLength: 12 }), async (a, cuts) => {
      const whole = await feed(a.method, [bytes(a.text)], false);
      const pieces = await feed(a.method, split(a.text, cuts), false);
      assert.equal(whole.state, 'resolved', whole.state === 'rejected' ? String(whole.error) : 'pending');
      assert.equal(pieces.state, 'resolved', pieces.state === 'rejected' ? String(pieces.error) : 'pending');
      if (whole.state !== 'resolved' || pieces.state !== 'resolved') return;
      assert.equal(whole.head.statusCode, a.status);
      assert.deepEqual(pieces.head, whole.head);
      // RFC 9110 §9.3.6: any 2xx to CONNECT opens the tunnel.
      const tunnel = a.method === 'CONNECT' && a.status >= 200 && a.status < 300;
      assert.equal(whole.head.framing.kind === 'tunnel', tunnel);
      assert.equal(pieces.unread.toString('latin1'), tunnel ? a.after : '');
      assert.equal(whole.unread.toString('latin1'), tunnel ? a.after : '');
    }),
    { numRuns: 300 },
  );
});

const garbageToken = fc.constantFrom(
  'HTTP/1.1 ', 'HTTP/1.0 ', '200', '407', '100', ' OK', '\r\n', '\r\n\r\n', '\r', '\n', ':', ' ', '\t', '\x00', ',',
  'Content-Length: ', 'Content-Length', 'Transfer-Encoding: ', 'chunked', '5', '-1', 'x', 'HTTP/1.1 100 Continue\r\n\r\n',
);
const garbage = fc.oneof(
  fc.uint8Array({ maxLength: 120 }).map((u) => Buffer.from(u).toString('latin1')),
  fc.array(garbageToken, { maxLength: 30 }).map((a) => a.join('')),
  fc.tuple(answer, fc.array(garbageToken, { maxLength: 10 }), fc.nat()).map(([a, g, at]) => {
    const i = at % (a.text.length + 1);
    return `${a.text.slice(0, i)}${g.join('')}${a.text.slice(i)}`;
  }),
);

test('property: any bytes then a close settle at once; a tunnel gets exactly the bytes after its head, anything else none', async () => {
  await fc.assert(
    fc.asyncProperty(garbage, fc.constantFrom('CONNECT', 'HEAD', 'GET'), fc.array(fc.nat(), { maxLength: 8 }), async (text, method, cuts) => {
      const out = await feed(method, split(text, cuts), true);
      assert.notEqual(out.state, 'pending', 'never a hang');
      if (out.state === 'rejected') {
        assert.ok(out.error instanceof ResponseHeadError, String(out.error));
        return;
      }
      if (out.state !== 'resolved') return;
      const input = bytes(text);
      if (out.head.framing.kind === 'tunnel') {
        const headLength = input.length - out.unread.length;
        assert.deepEqual(input.subarray(headLength), out.unread, 'the tunnel gets the bytes that follow the head');
        assert.equal(input.toString('latin1', headLength - 4, headLength), '\r\n\r\n', 'and the head ended just before them');
      } else {
        assert.equal(out.unread.length, 0, 'nothing of a body is handed on');
      }
    }),
    { numRuns: 500 },
  );
});
