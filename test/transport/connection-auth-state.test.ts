import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionAuthState } from '../../src/transport/connection-auth-state.js';

type Step = 'open' | 'close' | 'auth' | 'verify';

test('connection auth state table: what a connection has shown lapses with it', () => {
  // steps, then [authenticated, verified, same(generation at the first open)]
  const rows: ReadonlyArray<[Step[], [boolean, boolean, boolean]]> = [
    [[], [false, false, false]],
    [['open'], [false, false, true]],
    [['open', 'auth'], [true, false, true]],
    [['open', 'verify'], [false, true, true]],
    [['open', 'auth', 'verify'], [true, true, true]],
    [['open', 'auth', 'verify', 'close'], [false, false, false]],
    [['open', 'auth', 'verify', 'close', 'open'], [false, false, false]], // a new connection starts from nothing
    [['open', 'auth', 'open'], [false, false, false]], // a redial without a close seen first
    [['open', 'close', 'open', 'auth'], [true, false, false]],
    [['auth', 'open'], [false, false, true]], // marked before any connection: nothing carried over
  ];
  for (const [steps, [authenticated, verified, same]] of rows) {
    const s = new ConnectionAuthState();
    let first: number | undefined;
    for (const step of steps) {
      if (step === 'open') {
        const generation = s.opened();
        first ??= generation;
      } else if (step === 'close') s.closed();
      else if (step === 'auth') s.markAuthenticated();
      else s.markVerified();
    }
    const label = steps.join(' → ') || '(nothing)';
    assert.equal(s.authenticated, authenticated, `authenticated after ${label}`);
    assert.equal(s.verified, verified, `verified after ${label}`);
    assert.equal(first !== undefined && s.same(first), same, `same connection after ${label}`);
  }
});
