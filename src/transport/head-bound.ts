import type { Socket } from 'node:net';
import { HEAD_LIMITS, ResponseHeadError } from './response-head.js';

const LF = 0x0a;
/** Sockets already listened to. */
const WATCHED = new WeakSet<Socket>();
const CR = 0x0d;

/**
 * HEAD_LIMITS on a connection whose answers another parser reads: undici's, on fetch's forwarded
 * `http:` path. undici bounds header fields (maxHeaderSize) but reads a status line, or a 1xx after
 * 1xx, without limit until its headers timeout (300 s by default: gigabytes from a hostile proxy).
 * Every other path stops at the bounds of our own reader (response-head.ts); this applies the same
 * ones, without parsing: it watches the bytes from a request's start (`expect()`, which undici calls
 * only once the previous answer is over: one request at a time on a connection) to the end of its
 * final head, counting line lengths and the head's total, and destroys the socket with the same
 * error our reader gives once either is past its bound. Body bytes are never looked at.
 */
export class HeadBound {
  #socket: Socket | undefined;
  #awaiting = false;
  /** Bytes of the line being read, CR included. */
  #line = 0;
  #total = 0;
  #lastCR = false;
  /** The status line's first bytes (to tell an interim 1xx head from the final one). */
  #status = '';
  #inStatusLine = true;

  /** The connection's socket (undici reads it; this only looks, from the first request on). */
  watch(socket: Socket): void {
    this.#socket = socket;
    this.#awaiting = false;
  }

  /** A request is about to be written: what arrives next is its answer's head. */
  expect(): void {
    const socket = this.#socket;
    if (socket && !WATCHED.has(socket)) {
      // Listened to only now, with undici's 'readable' listener in place: a 'data' listener added
      // before it would switch the socket to flowing mode, and a chunk read then would bypass undici.
      WATCHED.add(socket);
      socket.on('data', (chunk: Buffer) => {
        if (!this.#awaiting || socket !== this.#socket) return;
        try {
          this.#feed(chunk);
        } catch (error) {
          this.#awaiting = false;
          socket.destroy(error as Error);
        }
      });
    }
    this.#awaiting = true;
    this.#line = 0;
    this.#total = 0;
    this.#lastCR = false;
    this.#status = '';
    this.#inStatusLine = true;
  }

  #feed(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && this.#awaiting) {
      const lf = chunk.indexOf(LF, pos);
      const end = lf < 0 ? chunk.length : lf;
      const n = end - pos;
      if (this.#inStatusLine && this.#status.length < 12) this.#status += chunk.toString('latin1', pos, Math.min(end, pos + 12 - this.#status.length));
      this.#line += n;
      this.#total += n + (lf < 0 ? 0 : 1);
      if (n > 0) this.#lastCR = chunk[end - 1] === CR;
      if (this.#line > HEAD_LIMITS.line + 1) throw malformed(`a line longer than ${HEAD_LIMITS.line} bytes`);
      if (this.#total > HEAD_LIMITS.total) throw malformed(`a head larger than ${HEAD_LIMITS.total} bytes`);
      if (lf < 0) return;
      const empty = this.#line === 0 || (this.#line === 1 && this.#lastCR);
      if (empty && !this.#inStatusLine) {
        // The end of a head: an interim 1xx is followed by another head (counted in the same total).
        if (/^HTTP\/\d\.\d 1/.test(this.#status)) {
          this.#status = '';
          this.#inStatusLine = true;
        } else this.#awaiting = false;
      } else if (!empty) this.#inStatusLine = false;
      this.#line = 0;
      this.#lastCR = false;
      pos = lf + 1;
    }
  }
}

function malformed(detail: string): ResponseHeadError {
  return new ResponseHeadError('malformed', `its answer is not valid HTTP/1.1: ${detail}`);
}
