import type { Duplex } from 'node:stream';

/** A proxy's reply to CONNECT, or any response head read off a raw socket. */
export interface ResponseHead {
  statusCode: number;
  statusText: string;
  /** Lower-case names; repeated headers keep every value. */
  headers: Record<string, string[]>;
  /** The connection may carry another request after this response (its body has been drained). */
  reusable: boolean;
}

const MAX_HEAD = 64 * 1024;

/**
 * Reads one response head from the socket. For a 2xx CONNECT answer the bytes after the head belong to
 * the tunnel and are put back; otherwise the body (Content-Length or chunked) is read and discarded so
 * the socket can carry the next attempt. Rejects on close, error or a malformed head.
 */
export function readResponseHead(socket: Duplex, options: { connect: boolean }): Promise<ResponseHead> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    let head: ResponseHead | undefined;
    let body: BodySkipper | undefined;
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const finish = (rest: Buffer): void => {
      cleanup();
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      resolve(head as ResponseHead);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onEnd = (): void => {
      cleanup();
      if (head && body?.untilClose) {
        head.reusable = false;
        resolve(head);
      } else {
        reject(new Error(head ? 'the proxy closed the connection in the middle of its answer' : 'the proxy closed the connection without answering'));
      }
    };
    const onData = (chunk: Buffer): void => {
      if (!head) {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buffered.length > MAX_HEAD) onError(new Error('the proxy sent a response head larger than 64 KiB'));
          return;
        }
        try {
          head = parseHead(buffered.subarray(0, end).toString('latin1'));
        } catch (error) {
          onError(error as Error);
          return;
        }
        const rest = buffered.subarray(end + 4);
        if (options.connect && head.statusCode >= 200 && head.statusCode < 300) {
          finish(rest);
          return;
        }
        body = new BodySkipper(head);
        chunk = rest;
      }
      const done = body?.feed(chunk);
      if (done === 'error') onError(new Error('the proxy sent a malformed chunked body'));
      else if (done) finish(done);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const status = /^HTTP\/(1\.[01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!status) throw new Error(`the proxy's answer is not HTTP/1.x: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: Record<string, string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(colon + 1).trim());
  }
  const connection = [...(headers.connection ?? []), ...(headers['proxy-connection'] ?? [])].join(',').toLowerCase();
  const http10 = status[1] === '1.0';
  const reusable = connection.includes('close') ? false : http10 ? connection.includes('keep-alive') : true;
  return { statusCode: Number(status[2]), statusText: status[3] ?? '', headers, reusable };
}

/** Skips a response body framed by Content-Length or chunked encoding, or reads it until close. */
class BodySkipper {
  readonly untilClose: boolean;
  #remaining: number;
  readonly #chunked: boolean;
  #chunkState: 'size' | 'data' | 'data-crlf' | 'trailers' = 'size';
  #line = '';

  constructor(head: ResponseHead) {
    const te = (head.headers['transfer-encoding'] ?? []).join(',').toLowerCase();
    const length = head.headers['content-length']?.[0];
    this.#chunked = te.includes('chunked');
    const noBody = head.statusCode === 204 || head.statusCode === 304 || (head.statusCode >= 100 && head.statusCode < 200);
    this.#remaining = noBody ? 0 : this.#chunked ? 0 : length !== undefined ? Number(length) : -1;
    this.untilClose = !this.#chunked && this.#remaining < 0;
    if (this.untilClose) head.reusable = false;
  }

  /** Returns the bytes after the body once it is complete, `'error'`, or undefined when more is needed. */
  feed(chunk: Buffer): Buffer | 'error' | undefined {
    if (this.untilClose) return undefined;
    if (!this.#chunked) {
      if (chunk.length >= this.#remaining) {
        const rest = chunk.subarray(this.#remaining);
        this.#remaining = 0;
        return rest;
      }
      this.#remaining -= chunk.length;
      return undefined;
    }
    let i = 0;
    while (i < chunk.length) {
      if (this.#chunkState === 'data') {
        const n = Math.min(this.#remaining, chunk.length - i);
        i += n;
        this.#remaining -= n;
        if (this.#remaining === 0) this.#chunkState = 'data-crlf';
        continue;
      }
      const nl = chunk.indexOf(10, i);
      if (nl < 0) {
        this.#line += chunk.subarray(i).toString('latin1');
        return undefined;
      }
      const line = (this.#line + chunk.subarray(i, nl).toString('latin1')).replace(/\r$/, '');
      this.#line = '';
      i = nl + 1;
      if (this.#chunkState === 'size') {
        const size = parseInt(line.split(';')[0] ?? '', 16);
        if (Number.isNaN(size)) return 'error';
        if (size === 0) this.#chunkState = 'trailers';
        else {
          this.#remaining = size;
          this.#chunkState = 'data';
        }
      } else if (this.#chunkState === 'data-crlf') {
        this.#chunkState = 'size';
      } else if (line === '') {
        return chunk.subarray(i); // end of trailers
      }
    }
    return undefined;
  }
}
