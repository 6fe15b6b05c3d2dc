import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { PendingConnection } from '../../src/adapters/node/pending-connection.js';

// node:http arms and clears a socket's timeout with the same callback on every request of a kept-alive
// connection (setTimeout(ms, cb), then setTimeout(0, cb)): the connection must end with as many
// 'timeout' listeners as a net.Socket would, not one more per request.
test("setTimeout(0, cb) removes cb as net.Socket's does: no 'timeout' listener gathers per request", async () => {
  const pending = new PendingConnection(async () => new PassThrough());
  const socket = new Socket();
  const before = pending.listenerCount('timeout');
  for (let i = 0; i < 50; i++) {
    const onTimeout = (): void => {};
    pending.setTimeout(5_000, onTimeout);
    pending.setTimeout(0, onTimeout);
    socket.setTimeout(5_000, onTimeout);
    socket.setTimeout(0, onTimeout);
  }
  assert.equal(pending.listenerCount('timeout') - before, socket.listenerCount('timeout'));
  assert.equal(pending.listenerCount('timeout') - before, 0);
  const kept = (): void => {};
  pending.setTimeout(5_000, kept);
  assert.equal(pending.listenerCount('timeout') - before, 1, 'a timeout still armed keeps its callback');
  pending.destroy();
  socket.destroy();
});
