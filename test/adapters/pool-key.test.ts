import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig, type Route } from '../../src/config/proxy-config.js';
import { routeKey } from '../../src/routing/route-key.js';

/** The route for https://origin.example/ under these variables (compiled as the agents compile them). */
function route(env: Record<string, string>): Route {
  return resolveConfig({ env }).route('https://origin.example/');
}

const P = 'http://proxy.corp:3128';
const withUser = (userinfo: string): string => `http://${userinfo}@proxy.corp:3128`;

// Each row: two environments and whether their routes may share pooled connections.
const ROWS: ReadonlyArray<[string, Record<string, string>, Record<string, string>, boolean]> = [
  ['direct and direct', {}, { NO_PROXY: 'origin.example' }, true],
  ['direct and a proxy', {}, { HTTPS_PROXY: P }, false],
  ['the same proxy, written twice', { HTTPS_PROXY: P }, { HTTPS_PROXY: `${P}/` }, true],
  ['two proxies', { HTTPS_PROXY: P }, { HTTPS_PROXY: 'http://proxy.corp:3129' }, false],
  ['http:// and https:// to the same proxy', { HTTPS_PROXY: P }, { HTTPS_PROXY: 'https://proxy.corp:3128' }, false],
  ['the same Basic credentials', { HTTPS_PROXY: withUser('bob:pw') }, { HTTPS_PROXY: withUser('bob:pw') }, true],
  ['the same credentials, percent-encoded differently', { HTTPS_PROXY: withUser('bob:p%77') }, { HTTPS_PROXY: withUser('bob:pw') }, true],
  ['another password', { HTTPS_PROXY: withUser('bob:pw') }, { HTTPS_PROXY: withUser('bob:other') }, false],
  ['another user', { HTTPS_PROXY: withUser('bob:pw') }, { HTTPS_PROXY: withUser('alice:pw') }, false],
  ['credentials and none', { HTTPS_PROXY: withUser('bob:pw') }, { HTTPS_PROXY: P }, false],
  ['user "a:b" + "c" and user "a" + "b:c"', { HTTPS_PROXY: withUser('a%3Ab:c') }, { HTTPS_PROXY: withUser('a:b%3Ac') }, false],
  ['Basic and Negotiate to one proxy', { HTTPS_PROXY: withUser('bob:pw') }, { HTTPS_PROXY: withUser('bob:pw'), JAATO_KERBEROS_PROXY: 'true' }, false],
  ['Negotiate with two SPNs', { HTTPS_PROXY: P, JAATO_KERBEROS_PROXY: 'true' }, { HTTPS_PROXY: P, JAATO_KERBEROS_PROXY: 'true', JAATO_KERBEROS_SPN: 'HTTP@alias' }, false],
];

for (const [name, a, b, shared] of ROWS) {
  test(`pool key: ${name} ${shared ? 'share' : 'do not share'} connections`, () => {
    assert.equal(routeKey(route(a)) === routeKey(route(b)), shared, `${routeKey(route(a))} vs ${routeKey(route(b))}`);
  });
}

test('pool key: never the credential itself, in clear or in Basic form', () => {
  const key = routeKey(route({ HTTPS_PROXY: withUser('bob-the-user:s3cret-pw') }));
  for (const secret of ['bob-the-user', 's3cret-pw', Buffer.from('bob-the-user:s3cret-pw').toString('base64')]) {
    assert.ok(!key.includes(secret), `${key} contains ${secret}`);
  }
  assert.match(key, /^proxy http:\/\/proxy\.corp:3128 basic - [A-Za-z0-9_-]{22}$/);
});
