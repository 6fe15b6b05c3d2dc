/** Bounds on a chunk-size or trailer line: far above what any client or proxy writes. */
const MAX_LINE = 4096;
const CHUNK_SIZE = /^[0-9A-Fa-f]{1,16}$/;

/**
 * Finds where a chunked body ends (RFC 9112 §7.1), fed piece by piece, without copying its data: the
 * forwarded connection needs to know where one request or answer stops and the next begins. Sizes are
 * strict hex (no sign, no `0x`), extensions after `;` ignored, trailers skipped.
 */
export class ChunkedEnd {
  #state: 'size' | 'data' | 'data-end' | 'trailer' = 'size';
  #line = '';
  #remaining = 0;

  /** Consumes `data`; the offset just past the body's end, or -1 while it goes on. Throws on a malformed size. */
  feed(data: Buffer): number {
    let i = 0;
    while (i < data.length) {
      if (this.#state === 'data') {
        const n = Math.min(this.#remaining, data.length - i);
        i += n;
        this.#remaining -= n;
        if (this.#remaining === 0) this.#state = 'data-end';
        continue;
      }
      const lf = data.indexOf(10, i);
      if (lf < 0) {
        this.#line += data.toString('latin1', i);
        if (this.#line.length > MAX_LINE) throw new Error('a chunk-size or trailer line is too long');
        return -1;
      }
      const line = (this.#line + data.toString('latin1', i, lf)).replace(/\r$/, '');
      this.#line = '';
      i = lf + 1;
      if (this.#state === 'data-end') {
        if (line !== '') throw new Error('chunk data is not followed by CRLF');
        this.#state = 'size';
      } else if (this.#state === 'size') {
        const size = (line.split(';')[0] ?? '').trim();
        if (!CHUNK_SIZE.test(size)) throw new Error(`invalid chunk size ${JSON.stringify(size.slice(0, 20))}`);
        this.#remaining = Number.parseInt(size, 16);
        this.#state = this.#remaining === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.#state = 'size';
        return i;
      }
    }
    return -1;
  }
}
