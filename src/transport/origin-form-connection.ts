import type { Socket } from 'node:net';
import { SocketFacade } from './socket-facade.js';

const MAX_REQUEST_LINE = 16 * 1024;
/** `METHOD scheme://authority[path] HTTP/x.y`: the absolute form a request to a proxy takes. */
const ABSOLUTE_FORM = /^(\S+) [A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?# ]*(\S*) (HTTP\/\d\.\d)$/;

/** A request line in origin form (RFC 9112 §3.2.1): the absolute form's path and query, `/` when empty. */
export function toOriginForm(line: string): string {
  const m = ABSOLUTE_FORM.exec(line);
  if (!m) return line;
  const rest = m[2] as string;
  return `${m[1]} ${rest.startsWith('/') ? rest : `/${rest}`} ${m[3]}`;
}

/**
 * A direct connection to an origin for requests node:http wrote in absolute form, as for a proxy: the
 * node agent renders a request's head before a PAC has said whether the host goes through a proxy or
 * DIRECT, so it writes the form a proxy takes, and when the answer is DIRECT this connection rewrites
 * each request line to origin form (most origins accept only that, though RFC 9112 says they should
 * take both). The rest of each request and every answer pass through untouched.
 *
 * Where a request starts: node:http sends one request at a time on a connection and emits `'free'` on
 * it only once the previous request was written (its last write went through `_write`) and its answer
 * ended, so the first bytes after `'free'` are the next request line.
 */
export class OriginFormConnection extends SocketFacade {
  readonly #socket: Socket;
  #atLine = true;
  #line = Buffer.alloc(0);

  constructor(socket: Socket) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    socket.on('data', (data: Buffer) => {
      if (!this.push(data)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('timeout', () => this.emit('timeout'));
    socket.on('error', (error: Error) => this.destroy(error));
    socket.on('close', () => this.destroy());
    this.on('free', () => {
      this.#atLine = true;
    });
  }

  protected get inner(): Socket {
    return this.#socket;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let data = chunk;
    if (this.#atLine) {
      const buffered = this.#line.length > 0 ? Buffer.concat([this.#line, chunk]) : chunk;
      const eol = buffered.indexOf('\r\n');
      if (eol < 0) {
        if (buffered.length > MAX_REQUEST_LINE) return callback(new Error('a request line over 16 KiB'));
        this.#line = Buffer.from(buffered);
        return callback();
      }
      this.#line = Buffer.alloc(0);
      this.#atLine = false;
      data = Buffer.concat([Buffer.from(toOriginForm(buffered.toString('latin1', 0, eol)), 'latin1'), buffered.subarray(eol)]);
    }
    this.#socket.write(data, (error) => callback(error ?? null));
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#socket.destroy();
    callback(error);
  }
}
