import type { Duplex } from 'node:stream';

/**
 * How the body after a response head is delimited (RFC 9112 §6.3). This reader never reads a body: it
 * says how one is framed, so that no caller mistakes body bytes for the next answer. Only a `tunnel`
 * hands bytes on (they are the tunnel's); after any other answer the connection must be closed.
 */
export type BodyFraming =
  /** No body: an answer to HEAD, a 204 or a 304 (rule 1). */
  | { kind: 'none' }
  /** A 2xx to CONNECT: what follows is the tunnel (rule 2). */
  | { kind: 'tunnel' }
  /** `Transfer-Encoding` ending in chunked (rule 4). */
  | { kind: 'chunked' }
  /** One valid `Content-Length` (rule 6). */
  | { kind: 'length'; length: number }
  /** Until the proxy closes the connection (rules 4 and 8; HTTP/1.0 with Transfer-Encoding, §6.1). */
  | { kind: 'close' };

/** A proxy's final answer (to CONNECT, or to a request sent on a raw socket), head only. */
export interface ResponseHead {
  statusCode: number;
  statusText: string;
  /** Lower-case names; repeated fields keep every value, in order. */
  headers: Record<string, string[]>;
  framing: BodyFraming;
}

/** Why no answer could be read: `malformed` (not strict HTTP/1.1, or over a bound) or `closed` early. */
export class ResponseHeadError extends Error {
  readonly kind: 'malformed' | 'closed';
  constructor(kind: 'malformed' | 'closed', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ResponseHeadError';
    this.kind = kind;
  }
}

/** Bounds on what a proxy may send before its final answer's head ends (interim 1xx heads included). */
export const HEAD_LIMITS = { line: 16 * 1024, total: 64 * 1024, fields: 100 } as const;

// RFC 9110 §5.6.2: field names are tokens.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 §5.5: field-content is VCHAR, obs-text, SP and HTAB; CR, LF, NUL and other controls are invalid.
const BAD_FIELD_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]; the second SP is missing
// from some servers' empty reason phrases, and a client ignores the phrase anyway.
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-5][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const VERSION_PREFIX = 'HTTP/1.';
const CR = 0x0d;
const LF = 0x0a;

const NONE: BodyFraming = { kind: 'none' };
const TUNNEL: BodyFraming = { kind: 'tunnel' };
const CHUNKED: BodyFraming = { kind: 'chunked' };
const CLOSE: BodyFraming = { kind: 'close' };

function malformed(detail: string): ResponseHeadError {
  return new ResponseHeadError('malformed', `its answer is not valid HTTP/1.1: ${detail}`);
}

/** A short, one-line rendering of what the proxy sent, for a message. */
function excerpt(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

function trimOws(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, '');
}

interface StatusLine {
  /** The minor version: HTTP/1.0 or HTTP/1.1. */
  version: '0' | '1';
  code: number;
  text: string;
}

/**
 * The pure part: bytes in, a final response head out. Strict RFC 9112 line and field syntax, 1xx
 * answers skipped, bounded sizes; throws ResponseHeadError at the first byte that cannot belong to a
 * valid answer, so a malformed answer fails at once instead of waiting for more.
 */
export class ResponseHeadParser {
  readonly #method: string;
  #pending: Buffer = Buffer.alloc(0);
  #received = 0;
  #consumed = 0;
  #status: StatusLine | undefined;
  #fields: Array<[string, string]> = [];
  #interimLength = 0;

  /** `method` is the request's (CONNECT, HEAD, GET...): it decides what a 2xx means and whether a body follows. */
  constructor(method: string) {
    this.#method = method.toUpperCase();
  }

  /**
   * How many of the bytes fed so far are complete 1xx answers (skipped by `feed`): a relay that must
   * pass them on as they come (a 100 Continue) sends that many.
   */
  get interimLength(): number {
    return this.#interimLength;
  }

  /** Returns the final head and the bytes after it once the head is complete, else undefined. */
  feed(chunk: Buffer): { head: ResponseHead; rest: Buffer } | undefined {
    this.#received += chunk.length;
    const data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      const lf = data.indexOf(LF, pos);
      if (lf < 0) {
        this.#checkPartial(data.subarray(pos));
        this.#pending = Buffer.from(data.subarray(pos));
        return undefined;
      }
      if (this.#status === undefined) this.#checkStart(data.subarray(pos, lf));
      // RFC 9112 §2.2: lines end in CRLF. A bare LF is tolerated by some parsers; here it is refused,
      // since two parsers that disagree on where a line ends is how responses get split.
      if (lf === pos || data[lf - 1] !== CR) throw malformed('a line ends in a bare LF instead of CRLF');
      if (lf - 1 - pos > HEAD_LIMITS.line) throw malformed(`a line longer than ${HEAD_LIMITS.line} bytes`);
      this.#consumed += lf + 1 - pos;
      if (this.#consumed > HEAD_LIMITS.total) throw malformed(`a head larger than ${HEAD_LIMITS.total} bytes`);
      const line = data.toString('latin1', pos, lf - 1);
      pos = lf + 1;
      const head = this.#line(line);
      if (head) {
        this.#pending = Buffer.alloc(0);
        return { head, rest: data.subarray(pos) };
      }
    }
  }

  /** The error for a connection that ended before the final head did. */
  closedError(): ResponseHeadError {
    return new ResponseHeadError(
      'closed',
      this.#received === 0 ? 'the proxy closed the connection without answering' : `the proxy closed the connection in the middle of its answer (after ${this.#received} bytes)`,
    );
  }

  /** Refuses an unfinished line as soon as it cannot become valid, rather than waiting for its end. */
  #checkPartial(partial: Buffer): void {
    if (partial.length > HEAD_LIMITS.line) throw malformed(`a line longer than ${HEAD_LIMITS.line} bytes`);
    if (this.#consumed + partial.length > HEAD_LIMITS.total) throw malformed(`a head larger than ${HEAD_LIMITS.total} bytes`);
    const cr = partial.indexOf(CR);
    if (cr >= 0 && cr < partial.length - 1) throw malformed('a bare CR inside a line'); // RFC 9112 §2.2
    if (this.#status === undefined) this.#checkStart(partial);
  }

  /** A status line, even unfinished, that cannot start with `HTTP/1.` is refused at once (TLS, SSH, junk). */
  #checkStart(line: Buffer): void {
    const n = Math.min(line.length, VERSION_PREFIX.length);
    if (line.toString('latin1', 0, n) !== VERSION_PREFIX.slice(0, n)) {
      throw malformed(`it does not start with ${VERSION_PREFIX}x: ${excerpt(line.toString('latin1', 0, 40))}`);
    }
  }

  #line(line: string): ResponseHead | undefined {
    if (this.#status === undefined) {
      const m = STATUS_LINE.exec(line);
      if (!m) throw malformed(`a bad status line ${excerpt(line)}`);
      this.#status = { version: m[1] as '0' | '1', code: Number(m[2]), text: m[3] ?? '' };
      return undefined;
    }
    if (line === '') return this.#endOfHead();
    if (line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09) {
      const last = this.#fields[this.#fields.length - 1];
      // RFC 9112 §2.2: whitespace before the first field line is refused (it could hide a field).
      if (!last) throw malformed('white space before the first header field');
      // RFC 9112 §5.2: a user agent replaces an obs-fold with SP, so a folded challenge is kept, not lost.
      const more = trimOws(line);
      if (BAD_FIELD_CHAR.test(more)) throw malformed(`a control character in the ${last[0]} field`);
      last[1] = last[1] === '' ? more : more === '' ? last[1] : `${last[1]} ${more}`;
      return undefined;
    }
    const colon = line.indexOf(':');
    if (colon < 0) throw malformed(`a header line without a colon ${excerpt(line)}`);
    const name = line.slice(0, colon);
    // RFC 9112 §5.1: no white space between a field name and the colon; a classic smuggling vector.
    if (/[ \t]$/.test(name)) throw malformed(`white space between the field name ${excerpt(name.trimEnd())} and the colon`);
    if (!TOKEN.test(name)) throw malformed(`an invalid field name ${excerpt(name)}`);
    const value = trimOws(line.slice(colon + 1));
    if (BAD_FIELD_CHAR.test(value)) throw malformed(`a control character in the ${name} field`);
    if (this.#fields.length >= HEAD_LIMITS.fields) throw malformed(`more than ${HEAD_LIMITS.fields} header fields`);
    this.#fields.push([name, value]);
    return undefined;
  }

  #endOfHead(): ResponseHead | undefined {
    const status = this.#status as StatusLine;
    const fields = this.#fields;
    this.#status = undefined;
    this.#fields = [];
    if (status.code === 101) throw malformed('101 Switching Protocols, which was not asked for'); // RFC 9110 §15.2.2
    // RFC 9110 §15.2: a client parses any number of 1xx answers before the final one, and skips them.
    if (status.code < 200) {
      this.#interimLength = this.#consumed;
      return undefined;
    }
    const headers: Record<string, string[]> = {};
    for (const [name, value] of fields) (headers[name.toLowerCase()] ??= []).push(value);
    return { statusCode: status.code, statusText: status.text, headers, framing: framingOf(this.#method, status.code, status.version, headers) };
  }
}

/** RFC 9112 §6.3, in its order; throws for the framing errors a smuggler would use. */
function framingOf(method: string, code: number, minor: '0' | '1', headers: Record<string, string[]>): BodyFraming {
  // RFC 9110 §9.3.6: a client MUST ignore Content-Length and Transfer-Encoding in a 2xx to CONNECT.
  if (method === 'CONNECT' && code >= 200 && code < 300) return TUNNEL;
  const length = contentLength(headers['content-length']);
  const codings = transferCodings(headers['transfer-encoding']);
  // §6.3 rule 3: both "ought to be handled as an error" (request smuggling, response splitting).
  if (codings && length !== undefined) throw malformed('both Transfer-Encoding and Content-Length');
  if (method === 'HEAD' || code === 204 || code === 304) return NONE;
  if (codings) {
    if (minor === '0') return CLOSE; // §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty
    return codings[codings.length - 1] === 'chunked' ? CHUNKED : CLOSE;
  }
  return length === undefined ? CLOSE : { kind: 'length', length };
}

/**
 * One decimal length, or undefined when absent. RFC 9110 §8.6 lets a recipient take a list of identical
 * values (`5, 5`, or the field twice) as one, as Go's net/http does; differing values, signs, exponents,
 * hex and empty members are refused. 15 digits at most keeps it an exact number.
 */
function contentLength(values: string[] | undefined): number | undefined {
  if (!values) return undefined;
  let first: string | undefined;
  for (const value of values) {
    for (const raw of value.split(',')) {
      const member = trimOws(raw);
      if (!/^[0-9]{1,15}$/.test(member)) throw malformed(`Content-Length ${excerpt(value)} is not a decimal length`);
      if (first === undefined) first = member;
      else if (member !== first) throw malformed(`two different Content-Length values (${first} and ${member})`);
    }
  }
  return Number(first);
}

/** The transfer codings in order, lower case, or undefined when absent (RFC 9112 §6.1). */
function transferCodings(values: string[] | undefined): string[] | undefined {
  if (!values) return undefined;
  const codings: string[] = [];
  for (const value of values) {
    for (const raw of value.split(',')) {
      const member = trimOws(raw);
      if (member === '') continue; // RFC 9110 §5.6.1.2: empty list elements are ignored
      const name = trimOws(member.split(';')[0] ?? '').toLowerCase();
      if (!TOKEN.test(name)) throw malformed(`Transfer-Encoding ${excerpt(value)} is not a list of codings`);
      // RFC 9112 §7: chunked is applied at most once.
      if (name === 'chunked' && codings.includes('chunked')) throw malformed('chunked applied twice in Transfer-Encoding');
      codings.push(name);
    }
  }
  if (codings.length === 0) throw malformed('an empty Transfer-Encoding');
  return codings;
}

/**
 * Reads one final response head off the socket, skipping 1xx answers. After a 2xx to CONNECT the bytes
 * that follow belong to the tunnel and are put back into the socket; after any other answer nothing is
 * put back and the body is not read: the caller closes the connection (and dials a new one for another
 * attempt), unless `keepBody`. Rejects with ResponseHeadError on a malformed answer, at once, and when the connection
 * closes or fails first. `method` is the request's: a HEAD's answer has no body, a CONNECT's 2xx a tunnel.
 */
export function readResponseHead(socket: Duplex, options: { method: string; keepBody?: boolean }): Promise<ResponseHead> {
  return new Promise((resolve, reject) => {
    const parser = new ResponseHeadParser(options.method);
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const onData = (chunk: Buffer | string): void => {
      let result: ReturnType<ResponseHeadParser['feed']>;
      try {
        result = parser.feed(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
      } catch (error) {
        cleanup();
        socket.pause();
        reject(error);
        return;
      }
      if (!result) return;
      cleanup();
      socket.pause();
      // `keepBody`: the caller reads the body itself (an NTLM handshake's 407, whose connection goes on).
      if ((result.head.framing.kind === 'tunnel' || options.keepBody === true) && result.rest.length > 0) socket.unshift(result.rest);
      resolve(result.head);
    };
    const onEnd = (): void => {
      cleanup();
      reject(parser.closedError());
    };
    const onError = (error: NodeJS.ErrnoException): void => {
      cleanup();
      reject(new ResponseHeadError('closed', `the connection failed before the answer was complete (${error.code ?? error.message})`, { cause: error }));
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}
