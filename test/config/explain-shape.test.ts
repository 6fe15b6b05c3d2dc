import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain, type Explanation } from '../../src/config/index.js';

// The documented shape of explain() and `explain --json`: every key always present, null where it does
// not apply. The key list is the spec; a key added or dropped fails every row.
const KEYS = ['url', 'route', 'rule', 'proxy', 'auth', 'spn', 'spnSource', 'basicFallback', 'authChoice', 'error', 'warnings', 'pac'];

type Row = [name: string, url: string, env: Record<string, string>, expected: Omit<Explanation, 'url' | 'warnings' | 'pac'>];
const P = 'http://proxy.corp:8080';
const NULLS = { proxy: null, auth: 'none', spn: null, spnSource: null, basicFallback: null, authChoice: null, error: null } as const;
const ANY_NEG = 'the first the proxy offers of: Negotiate (Kerberos), then NTLM (the platform\'s credentials: the logged-on user on Windows, NTLM_USER_FILE or winbind\'s cached logon elsewhere); NTLM only where Negotiate cannot make a token';

const ROWS: readonly Row[] = [
  ['direct by JAATO_NO_PROXY', 'https://github.com/', { HTTPS_PROXY: P, JAATO_NO_PROXY: 'github.com' }, { route: 'direct', rule: 'JAATO_NO_PROXY entry "github.com"', ...NULLS }],
  ['direct by NO_PROXY', 'https://a.corp.com/', { HTTPS_PROXY: P, NO_PROXY: '.corp.com' }, { route: 'direct', rule: 'NO_PROXY entry ".corp.com"', ...NULLS }],
  ['direct by no_proxy', 'https://a.corp.com/', { HTTPS_PROXY: P, no_proxy: '*' }, { route: 'direct', rule: 'no_proxy entry "*"', ...NULLS }],
  ['direct: no proxy variable', 'https://x/', {}, { route: 'direct', rule: 'no proxy variable is set for https: URLs', ...NULLS }],
  ['direct: a scheme never proxied', 'ftp://x/', { HTTPS_PROXY: P, HTTP_PROXY: P }, { route: 'direct', rule: 'ftp: URLs are never proxied', ...NULLS }],
  [
    'proxy, negotiate',
    'https://x/',
    { HTTPS_PROXY: P, JAATO_KERBEROS_PROXY: 'true' },
    { route: 'proxy', rule: 'HTTPS_PROXY', proxy: `${P}/`, auth: 'negotiate', spn: 'HTTP@proxy.corp', spnSource: 'proxy host', basicFallback: false, authChoice: ANY_NEG, error: null },
  ],
  [
    'proxy, negotiate with a Basic fallback and an SPN override',
    'http://x/',
    { HTTP_PROXY: 'http://u:pw@proxy.corp:8080', JAATO_KERBEROS_PROXY: 'true', JAATO_KERBEROS_SPN: 'HTTP@alias' },
    { route: 'proxy', rule: 'HTTP_PROXY', proxy: 'http://****:****@proxy.corp:8080/', auth: 'negotiate', spn: 'HTTP@alias', spnSource: 'JAATO_KERBEROS_SPN', basicFallback: true,
      authChoice: 'the first the proxy offers of: Negotiate (Kerberos), then NTLM (the proxy URL\'s DOMAIN\\user), then Basic (the proxy URL\'s user); NTLM only where Negotiate cannot make a token', error: null },
  ],
  [
    'proxy, basic',
    'https://x/',
    { HTTPS_PROXY: 'http://u:pw@proxy.corp:8080' },
    { route: 'proxy', rule: 'HTTPS_PROXY', proxy: 'http://****:****@proxy.corp:8080/', auth: 'basic', spn: null, spnSource: null, basicFallback: null,
      authChoice: 'the first the proxy offers of: NTLM (the proxy URL\'s DOMAIN\\user), then Basic (the proxy URL\'s user)', error: null },
  ],
  [
    'proxy, none',
    'https://x/',
    { HTTPS_PROXY: P },
    { route: 'proxy', rule: 'HTTPS_PROXY', proxy: `${P}/`, auth: 'none', spn: null, spnSource: null, basicFallback: null, authChoice: 'the first the proxy offers of: NTLM (the platform\'s credentials: the logged-on user on Windows, NTLM_USER_FILE or winbind\'s cached logon elsewhere)', error: null },
  ],
  [
    'proxy, NTLM pinned by JAATO_PROXY_AUTH: no Negotiate token up front',
    'https://x/',
    { HTTPS_PROXY: P, JAATO_KERBEROS_PROXY: 'true', JAATO_PROXY_AUTH: 'NTLM' },
    { route: 'proxy', rule: 'HTTPS_PROXY', proxy: `${P}/`, auth: 'none', spn: null, spnSource: null, basicFallback: null, authChoice: 'NTLM (the platform\'s credentials: the logged-on user on Windows, NTLM_USER_FILE or winbind\'s cached logon elsewhere) only (JAATO_PROXY_AUTH=ntlm)', error: null },
  ],
  [
    'error: a bad JAATO_PROXY_AUTH',
    'https://x/',
    { HTTPS_PROXY: P, JAATO_PROXY_AUTH: 'kerberos' },
    { route: 'error', rule: 'JAATO_PROXY_AUTH: must be one of negotiate, ntlm, basic, any, got "kerberos"', ...NULLS, error: { code: 'ERR_JAATO_INVALID_OPTION', message: 'JAATO_PROXY_AUTH: must be one of negotiate, ntlm, basic, any, got "kerberos"' } },
  ],
  [
    'error: a bad proxy variable',
    'https://x/',
    { HTTPS_PROXY: 'socks5://h:1' },
    {
      route: 'error',
      rule: 'HTTPS_PROXY uses the unsupported proxy scheme "socks5" ("socks5://h:1"): only http:// and https:// proxies are supported',
      ...NULLS,
      error: { code: 'ERR_JAATO_UNSUPPORTED_PROXY_SCHEME', message: 'HTTPS_PROXY uses the unsupported proxy scheme "socks5" ("socks5://h:1"): only http:// and https:// proxies are supported' },
    },
  ],
  [
    'error: a URL that does not parse',
    'not a url',
    { HTTPS_PROXY: P },
    { route: 'error', rule: 'Not a valid absolute URL: "not a url"', ...NULLS, error: { code: 'ERR_JAATO_INVALID_URL', message: 'Not a valid absolute URL: "not a url"' } },
  ],
];

test('explain: the same keys for every route kind, null where a key does not apply', () => {
  for (const [name, url, env, expected] of ROWS) {
    const e = explain(url, env);
    assert.deepEqual(Object.keys(e), KEYS, name);
    const { url: _url, warnings, pac, ...rest } = e;
    assert.deepEqual(rest, expected, name);
    assert.equal(pac, null, `${name}: no PAC configured`);
    assert.ok(Array.isArray(warnings), name);
    // JSON keeps every key: null is written, undefined would be dropped.
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(e)) as object), KEYS, `${name} (JSON)`);
  }
});
