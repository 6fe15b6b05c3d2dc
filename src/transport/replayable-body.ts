/**
 * The one rule for request bodies that must survive a 407 (the request is sent again with a token):
 * - a body the client can hand over again unchanged (none, a string, bytes, a Blob, FormData) is
 *   sent again as it is;
 * - a streamed body (a Readable, an async iterable: what Node's fetch gives for every body, FormData
 *   included, once it has a stream) is recorded as it is sent, up to `limit` bytes, and the next
 *   attempt sends what was recorded followed by whatever the source has not yet given;
 * - past the limit the recording is dropped, and a 407 after that is an error naming the limit.
 * Proxies that authenticate every request get their token up front (see proxy-auth-session.ts), so a
 * 407 after a large upload is the exception: the first one that teaches the client the proxy's kind.
 */

/** The bytes of a streamed body kept for sending it again by default (4 MiB). */
export const DEFAULT_BODY_REPLAY_LIMIT = 4 * 1024 * 1024;

/** A body whose next attempt has nothing to replay from: more than `limit` bytes were streamed. */
export class ReplayLimitExceeded {
  constructor(readonly limit: number) {}
}

/** Whether a client can send `body` again as it is. */
export function resendable(body: unknown): boolean {
  if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array) return true;
  const tag = (body as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  // Brand by tag, as undici does (isFormDataLike, isBlobLike): Node's bundled and npm undici have their own classes.
  return tag === 'FormData' || tag === 'Blob' || tag === 'File';
}

function isStreamed(body: unknown): body is AsyncIterable<unknown> | Iterable<unknown> {
  return typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' || typeof (body as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}

/**
 * The bytes of one body kept for a replay, up to `limit`; past it, none (the replay is then an error
 * naming the limit). The one recorder of both bindings: RecordedBody here (undici), and the node:http
 * connection (forward-connection.ts), which sees the body as the bytes node:http writes.
 */
export class BodyRecord {
  readonly limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #over = false;

  constructor(limit: number) {
    this.limit = limit;
  }

  get over(): boolean {
    return this.#over;
  }

  /** What was kept, in order (empty once over the limit). */
  get chunks(): readonly Buffer[] {
    return this.#chunks;
  }

  add(chunk: Buffer): void {
    if (this.#over) return;
    this.#size += chunk.length;
    if (this.#size > this.limit) {
      this.#over = true;
      this.#chunks = [];
    } else this.#chunks.push(chunk);
  }
}

/**
 * A streamed body read once from its source and recorded as it goes. Each `attempt()` is a fresh
 * async iterable for one send of the request: the recorded chunks, then the rest of the source. Only
 * the newest attempt reads: an older one that is still being consumed ends, and its `return()` does
 * not close the source (the next attempt needs it).
 */
class RecordedBody {
  readonly #source: AsyncIterator<unknown> | Iterator<unknown>;
  readonly #record: BodyRecord;
  #ended = false;
  #current = 0;
  #pull: Promise<unknown> = Promise.resolve();

  constructor(source: AsyncIterable<unknown> | Iterable<unknown>, limit: number) {
    this.#source =
      typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
        ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        : (source as Iterable<unknown>)[Symbol.iterator]();
    this.#record = new BodyRecord(limit);
  }

  attempt(): AsyncIterable<Buffer> | ReplayLimitExceeded {
    if (this.#record.over) return new ReplayLimitExceeded(this.#record.limit);
    const id = ++this.#current;
    const recorded = this.#record.chunks.slice();
    let i = 0;
    const next = async (): Promise<IteratorResult<Buffer>> => {
      if (id !== this.#current) return { done: true, value: undefined };
      if (i < recorded.length) return { done: false, value: recorded[i++] as Buffer };
      return this.#next(id);
    };
    const iterator: AsyncIterator<Buffer> = { next, return: async () => ({ done: true, value: undefined }) };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  /** The source's next chunk, recorded; pulls are serialised so two attempts never read at once. */
  #next(id: number): Promise<IteratorResult<Buffer>> {
    const result = this.#pull.then(async (): Promise<IteratorResult<Buffer>> => {
      if (id !== this.#current || this.#ended) return { done: true, value: undefined };
      const r = await this.#source.next();
      if (r.done) {
        this.#ended = true;
        return { done: true, value: undefined };
      }
      const chunk = toBuffer(r.value);
      this.#record.add(chunk);
      return { done: false, value: chunk };
    });
    this.#pull = result.catch(() => undefined);
    return result;
  }
}

/**
 * One request's body across its attempts. `first()` is what the first send carries, `again()` what a
 * send after a 407 carries, or ReplayLimitExceeded.
 */
export class ReplayableBody<B> {
  readonly #body: B;
  readonly #recorded: RecordedBody | undefined;

  constructor(body: B, limit: number = DEFAULT_BODY_REPLAY_LIMIT) {
    this.#body = body;
    this.#recorded = !resendable(body) && isStreamed(body) ? new RecordedBody(body, limit) : undefined;
  }

  /** Whether attempts need a body of their own (a streamed one), so `first()` differs from the original. */
  get streamed(): boolean {
    return this.#recorded !== undefined;
  }

  first(): B | AsyncIterable<Buffer> {
    return this.#recorded ? (this.#recorded.attempt() as AsyncIterable<Buffer>) : this.#body;
  }

  again(): B | AsyncIterable<Buffer> | ReplayLimitExceeded {
    return this.#recorded ? this.#recorded.attempt() : this.#body;
  }
}
