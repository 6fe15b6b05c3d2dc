import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedEnd } from '../../src/transport/chunked-end.js';

// Where a chunked body ends (RFC 9112 §7.1), fed whole and byte by byte: the end offset, or a throw.
const ROWS: Array<[string, string, number | 'throws' | -1]> = [
  ['one chunk', '5\r\nhello\r\n0\r\n\r\n', 15],
  ['bytes after the end are not consumed', '1\r\na\r\n0\r\n\r\nGET / HTTP/1.1', 11],
  ['extensions ignored', '3;ext=1\r\nabc\r\n0\r\n\r\n', 19],
  ['trailers skipped', '2\r\nhi\r\n0\r\nX-Sum: 1\r\n\r\n', 22],
  ['hex sizes', 'a\r\n0123456789\r\n0\r\n\r\n', 20],
  ['not ended yet', '5\r\nhel', -1],
  ['a negative size', '-5\r\nhello\r\n0\r\n\r\n', 'throws'],
  ['0x prefix', '0x5\r\nhello\r\n0\r\n\r\n', 'throws'],
  ['data not followed by CRLF', '2\r\nhiX\r\n0\r\n\r\n', 'throws'],
];

for (const [name, input, expected] of ROWS) {
  test(`chunked end: ${name}`, () => {
    const whole = (): number => new ChunkedEnd().feed(Buffer.from(input, 'latin1'));
    const byByte = (): number => {
      const c = new ChunkedEnd();
      for (let i = 0; i < input.length; i++) if (c.feed(Buffer.from(input[i] as string, 'latin1')) >= 0) return i + 1;
      return -1;
    };
    if (expected === 'throws') {
      assert.throws(whole);
      assert.throws(byByte);
    } else {
      assert.equal(whole(), expected);
      assert.equal(byByte(), expected);
    }
  });
}
