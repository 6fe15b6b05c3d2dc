import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { BodyRecord, ReplayableBody, ReplayLimitExceeded, resendable } from '../../src/transport/replayable-body.js';

async function collect(body: unknown): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString();
}

test('resendable: bodies a client can hand over again as they are', () => {
  for (const body of [undefined, null, 'text', Buffer.from('b'), new Uint8Array([1]), new FormData(), new Blob(['x'])]) assert.equal(resendable(body), true, String(body));
  for (const body of [Readable.from(['x']), (async function* () {})(), ['a', 'b']]) assert.equal(resendable(body), false);
});

test('a streamed body: the next attempt sends what was recorded, then the rest of the source', async () => {
  const body = new ReplayableBody(Readable.from([Buffer.from('one,'), Buffer.from('two,'), Buffer.from('three')]), 1024);
  const first = body.first() as AsyncIterable<Buffer>;
  const it = first[Symbol.asyncIterator]();
  assert.equal(String((await it.next()).value), 'one,'); // the first attempt stops after one chunk
  await it.return?.();
  const again = body.again();
  assert.ok(!(again instanceof ReplayLimitExceeded));
  assert.equal(await collect(again), 'one,two,three');
  assert.equal(await collect(body.again()), 'one,two,three', 'and again, from the recording');
});

test('past the limit, the next attempt is ReplayLimitExceeded naming it', async () => {
  const body = new ReplayableBody(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), 15);
  assert.equal((await collect(body.first())).length, 20, 'the first attempt is whole');
  const again = body.again();
  assert.ok(again instanceof ReplayLimitExceeded);
  assert.equal(again.limit, 15);
});

test('a string body is its own replay, not copied', () => {
  const body = new ReplayableBody('text');
  assert.equal(body.streamed, false);
  assert.equal(body.first(), 'text');
  assert.equal(body.again(), 'text');
});

test('BodyRecord: keeps the chunks in order up to the limit, then none, for good', () => {
  const rows: ReadonlyArray<[number[], number, boolean, number]> = [
    // chunk sizes, limit, over, bytes kept
    [[], 10, false, 0],
    [[4, 6], 10, false, 10], // exactly the limit is kept
    [[4, 7], 10, true, 0],
    [[11], 10, true, 0],
    [[11, 1], 10, true, 0], // once over, a small chunk after is not kept either
    [[0, 0, 3], 0, true, 0],
  ];
  for (const [sizes, limit, over, kept] of rows) {
    const r = new BodyRecord(limit);
    sizes.forEach((n, i) => r.add(Buffer.alloc(n, i)));
    const label = `${JSON.stringify(sizes)} under ${limit}`;
    assert.equal(r.over, over, label);
    assert.equal(Buffer.concat(r.chunks).length, kept, label);
    if (!over) assert.deepEqual(Buffer.concat(r.chunks), Buffer.concat(sizes.map((n, i) => Buffer.alloc(n, i))), label);
  }
});
