import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config/proxy-config.js';
import { agentProxy, sameProxy } from '../../src/adapters/node/same-proxy.js';

/** The route our configuration chooses for `target` under these variables. */
const routeFor = (env: Record<string, string>, target = 'https://origin.example/') => resolveConfig({ env }).route(target);

const ENV = { HTTPS_PROXY: 'http://proxy.corp:3128', HTTP_PROXY: 'http://other.corp:8080' };

// Each row: a client's proxy agent's `proxy` URL, the environment, the target, whether the request takes our route.
const ROWS: ReadonlyArray<[string, string, Record<string, string>, string, boolean]> = [
  ['the proxy HTTPS_PROXY names (as Azure and gaxios build it)', 'http://proxy.corp:3128', ENV, 'https://origin.example/', true],
  ['the same, host in capitals', 'http://PROXY.corp:3128', ENV, 'https://origin.example/', true],
  ['the same, port left to the scheme on both sides', 'http://proxy.corp', { HTTPS_PROXY: 'http://proxy.corp:80' }, 'https://origin.example/', true],
  ['the same credentials as the variable', 'http://u:p%40ss@proxy.corp:3128', { HTTPS_PROXY: 'http://u:p%40ss@proxy.corp:3128' }, 'https://origin.example/', true],
  ['IPv6, bracketed', 'http://[::1]:3128', { HTTPS_PROXY: 'http://[::1]:3128' }, 'https://origin.example/', true],
  ['an http: target: HTTP_PROXY is ours for it, the agent names HTTPS_PROXY', 'http://proxy.corp:3128', ENV, 'http://origin.example/', false],
  ['an http: target on the proxy HTTP_PROXY names', 'http://other.corp:8080', ENV, 'http://origin.example/', true],
  ['another proxy (explicit in the caller\'s options)', 'http://elsewhere.corp:3128', ENV, 'https://origin.example/', false],
  ['another port', 'http://proxy.corp:3129', ENV, 'https://origin.example/', false],
  ['another scheme (TLS to the proxy)', 'https://proxy.corp:3128', ENV, 'https://origin.example/', false],
  ['a SOCKS proxy on the same host and port', 'socks5://proxy.corp:3128', ENV, 'https://origin.example/', false],
  ['credentials of its own, none in the variable', 'http://u:p@proxy.corp:3128', ENV, 'https://origin.example/', false],
  ['other credentials than the variable\'s', 'http://u:q@proxy.corp:3128', { HTTPS_PROXY: 'http://u:p@proxy.corp:3128' }, 'https://origin.example/', false],
  ['none where the variable has some', 'http://proxy.corp:3128', { HTTPS_PROXY: 'http://u:p@proxy.corp:3128' }, 'https://origin.example/', false],
  ['a target NO_PROXY sends direct', 'http://proxy.corp:3128', { ...ENV, NO_PROXY: 'origin.example' }, 'https://origin.example/', false],
  ['no proxy configured', 'http://proxy.corp:3128', {}, 'https://origin.example/', false],
];

for (const [name, proxy, env, target, expected] of ROWS) {
  test(`sameProxy: ${name} → ${expected ? 'our route' : 'kept'}`, () => {
    assert.equal(sameProxy(new URL(proxy), routeFor(env, target)), expected);
  });
}

test("agentProxy reads only a URL held in the agent's own `proxy` field, and runs no getter of the caller's", () => {
  const url = new URL('http://proxy.corp:3128');
  assert.equal(agentProxy({ proxy: url }), url);
  assert.equal(agentProxy({ proxy: 'http://proxy.corp:3128' }), undefined, 'a string (not the public URL field of https-proxy-agent 7)');
  assert.equal(agentProxy({ proxy: { host: 'proxy.corp', port: 3128 } }), undefined, 'https-proxy-agent 5 options object: kept');
  assert.equal(agentProxy({}), undefined);
  let ran = false;
  const withGetter = {
    get proxy(): URL {
      ran = true;
      return url;
    },
  };
  assert.equal(agentProxy(withGetter), undefined);
  assert.equal(ran, false);
  class Inherited {
    proxy = url;
  }
  assert.equal(agentProxy(new Inherited()), url, 'an instance field is an own property');
});
