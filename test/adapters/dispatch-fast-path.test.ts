import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Dispatcher } from 'undici';
import { withoutHeader } from '../../src/adapters/undici/headers.js';
import { ProxyDispatcher } from '../../src/adapters/undici/proxy-dispatcher.js';

test('withoutHeader: headers without the name are passed as they are; with it, or in a shape undici reads otherwise, a flat copy without it', () => {
  const object = { accept: '*/*', 'user-agent': 'x' };
  assert.equal(withoutHeader(object, 'proxy-authorization'), object);
  const flat = ['accept', '*/*'];
  assert.equal(withoutHeader(flat, 'proxy-authorization'), flat);
  assert.deepEqual(withoutHeader({ accept: '*/*', 'Proxy-Authorization': 'Basic eA==' }, 'proxy-authorization'), ['accept', '*/*']);
  assert.deepEqual(withoutHeader(['PROXY-AUTHORIZATION', 'Basic eA==', 'accept', '*/*'], 'proxy-authorization'), ['accept', '*/*']);
  assert.deepEqual(withoutHeader({ accept: '*/*', skipped: undefined }, 'proxy-authorization'), ['accept', '*/*']);
  assert.deepEqual(withoutHeader({ accept: ['a', 'b'] }, 'proxy-authorization'), ['accept', 'a', 'accept', 'b']);
  assert.deepEqual(withoutHeader(new Map([['accept', '*/*']]), 'proxy-authorization'), ['accept', '*/*']);
  assert.equal(withoutHeader(undefined, 'proxy-authorization'), undefined);
});

/** The debug line of one dispatch (the route it took), and the error its handler got. */
async function dispatchOnce(dispatcher: ProxyDispatcher, path: string, legacy: boolean): Promise<{ line: string; error: Error }> {
  const lines: string[] = [];
  const onLine = (m: unknown): void => void lines.push((m as { message: string }).message);
  subscribe('jaato-proxy:debug', onLine);
  try {
    const error = await new Promise<Error>((resolve) => {
      const handler = legacy
        ? { onConnect() {}, onHeaders: () => true, onData: () => true, onComplete() {}, onError: resolve }
        : { onRequestStart() {}, onResponseStart() {}, onResponseData() {}, onResponseEnd() {}, onResponseError: (_c: unknown, e: Error) => resolve(e) };
      dispatcher.dispatch({ origin: 'https://origin.invalid', path, method: 'GET', headers: { accept: '*/*' } }, handler as Dispatcher.DispatchHandler);
    });
    return { line: lines.find((l) => l.startsWith('GET ')) ?? '', error };
  } finally {
    unsubscribe('jaato-proxy:debug', onLine);
  }
}

test('dispatch routes by new URL(path, origin): a path that replaces the host (//, /\\, tabs first) is routed by that host, a plain one by the origin, in either order', async () => {
  for (const legacy of [true, false]) {
    const dispatcher = new ProxyDispatcher({ proxy: 'http://127.0.0.1:1', noProxy: 'bypassed.invalid', env: {}, connectTimeout: 2000 });
    try {
      // Plain first (the origin's target is remembered), then paths that must not use it, then plain again.
      for (const path of ['/x?y=1', '//bypassed.invalid/x', '/\\bypassed.invalid/x', '/\t/bypassed.invalid/x', '/\n\\bypassed.invalid/x', '/y']) {
        const { line, error } = await dispatchOnce(dispatcher, path, legacy);
        const expected = path.includes('bypassed') ? /^GET https:\/\/bypassed\.invalid: direct / : /^GET https:\/\/origin\.invalid: tunnel via /;
        assert.match(line, expected, `${JSON.stringify(path)} (${legacy ? 'legacy' : 'new'} handler API): ${line}`);
        assert.ok(error instanceof Error);
      }
    } finally {
      await dispatcher.destroy();
    }
  }
});
