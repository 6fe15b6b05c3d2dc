import type { Duplex } from 'node:stream';

/**
 * net.Socket's `destroySoon()` for a Duplex that stands in for a socket: node:http calls it when a
 * connection is not kept alive. Ends our side, then destroys once what was written has been flushed.
 */
export function destroySoon(stream: Duplex): void {
  if (stream.writable) stream.end();
  if (stream.writableFinished) stream.destroy();
  else stream.once('finish', () => stream.destroy());
}
