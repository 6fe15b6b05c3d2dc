import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KerberosNoCredentialsError, KerberosUnknownSpnError } from '../../src/auth/errors.js';
import { parseProxyUrl } from '../../src/config/proxy-url.js';
import { authCheck, authModeCheck, connectionRemedy, directRemedy, fetchAuthNote, offerCheck, originRemedy, replyTokenCheck, schemeCheck, schemeName, sentWith, spnRemedy, tokenRemedy, unmetOffer, type AuthSetting, type SpnState } from '../../src/diagnostics/advice.js';
import { ProxyAuthenticationError, ProxyConnectionError, ProxyMutualAuthError, ProxyTimeoutError, ProxyTunnelError } from '../../src/transport/errors.js';

// doctor's judgements as tables: what the proxy offered or answered, what was configured → the
// verdict and the remedy. The same judgements are run against the real lab in test/cli/doctor.test.ts.

const OFF: AuthSetting = { kerberos: false, basicCredentials: false, variable: 'HTTPS_PROXY' };
const ON: AuthSetting = { ...OFF, kerberos: true };
const BASIC: AuthSetting = { ...OFF, basicCredentials: true };

test('scheme names as the specifications spell them', () => {
  assert.deepEqual(['ntlm', 'negotiate', 'basic', 'digest', 'bearer'].map(schemeName), ['NTLM', 'Negotiate', 'Basic', 'Digest', 'Bearer']);
  // An empty scheme (a bare `Proxy-Authenticate:`) stays empty, not "undefined".
  assert.equal(schemeName(''), '');
});

test('offers nothing configured meets → the remedy; offers one that is → none', () => {
  const rows: ReadonlyArray<[string[], AuthSetting, RegExp | undefined]> = [
    [['negotiate'], ON, undefined],
    [['negotiate', 'basic'], BASIC, undefined],
    [['basic'], BASIC, undefined],
    [['negotiate'], OFF, /^the proxy wants Kerberos \(Negotiate\) and it is off: export JAATO_KERBEROS_PROXY=true$/],
    [['negotiate', 'basic'], OFF, /export JAATO_KERBEROS_PROXY=true, or put Basic credentials in the proxy URL$/],
    [['basic'], ON, /^the proxy wants Basic credentials: put them in HTTPS_PROXY/],
    [['ntlm'], ON, undefined],
    [['ntlm'], OFF, undefined],
    [['negotiate', 'ntlm'], OFF, undefined],
    [['digest'], ON, /none of the offered schemes/],
    [[], ON, /no Proxy-Authenticate challenge/],
  ];
  for (const [offered, setting, remedy] of rows) {
    const got = unmetOffer(offered, setting);
    if (remedy) assert.match(got ?? '', remedy, offered.join());
    else assert.equal(got, undefined, offered.join());
  }
  const ntlm = offerCheck({ statusCode: 407, statusText: 'Proxy Authentication Required', ms: 3, offered: ['ntlm'] }, 'http://p/', ON, true);
  assert.deepEqual([ntlm.status, ntlm.detail], ['ok', 'http://p/ (HTTPS_PROXY) answered 407 Proxy Authentication Required in 3 ms; offers NTLM']);
  const open = offerCheck({ statusCode: 200, statusText: 'Connection established', ms: 1, offered: [] }, 'http://p/', OFF, true);
  assert.deepEqual([open.status, open.detail], ['ok', 'http://p/ (HTTPS_PROXY) answered 200 Connection established in 1 ms; asks for no authentication']);
  // A CONNECT refused before any credentials is the target's refusal; a forwarded HEAD's 403 may be the origin's.
  const refused = offerCheck({ statusCode: 403, statusText: 'Forbidden', ms: 1, offered: [] }, 'http://p/', ON, true);
  assert.deepEqual([refused.status, refused.detail], ['fail', 'http://p/ (HTTPS_PROXY) answered 403 Forbidden in 1 ms to CONNECT, without asking for credentials']);
  assert.match(refused.remedy ?? '', /refuse a tunnel to this host or port .*NO_PROXY/);
  assert.equal(offerCheck({ statusCode: 403, statusText: 'Forbidden', ms: 1, offered: [] }, 'http://p/', ON, false).status, 'ok');
  // doctor's stand-in target (no URL given) refused: a warning, since the user's hosts may be allowed.
  const standIn = offerCheck({ statusCode: 403, statusText: 'Forbidden', ms: 1, offered: [] }, 'http://p/', ON, true, 'example.com:443');
  assert.deepEqual([standIn.status, standIn.detail], ['warn', "http://p/ (HTTPS_PROXY) answered 403 Forbidden in 1 ms to CONNECT example.com:443 (doctor's stand-in target), without asking for credentials"]);
  assert.match(standIn.remedy ?? '', /^the proxy refuses example\.com:443, so its authentication was not checked: give doctor a URL/);
});

test('a refused or unknown service name: "set JAATO_KERBEROS_SPN" only when it is not set', () => {
  const set: SpnState = { spn: 'HTTP@wrong', source: 'JAATO_KERBEROS_SPN', hostDefault: 'HTTP@proxy.corp', ipLiteral: false };
  const unset: SpnState = { spn: 'HTTP@proxy.corp', source: undefined, hostDefault: 'HTTP@proxy.corp', ipLiteral: false };
  const ip: SpnState = { spn: 'HTTP@fd00::1', source: undefined, hostDefault: 'HTTP@fd00::1', ipLiteral: true };
  assert.equal(spnRemedy(set, 'refused'), "JAATO_KERBEROS_SPN is set to HTTP@wrong and the proxy refuses tokens for it: correct it to the principal in the proxy's keytab, or unset it to use HTTP@proxy.corp (the proxy's host)");
  assert.equal(spnRemedy({ ...set, spn: 'HTTP@proxy.corp' }, 'unknown'), "JAATO_KERBEROS_SPN is set to HTTP@proxy.corp and the KDC does not know it: correct it to the principal in the proxy's keytab");
  assert.match(spnRemedy(unset, 'refused'), /^HTTP@proxy\.corp comes from the proxy's host and the proxy refuses tokens for it\. If the proxy's principal has another name .*set JAATO_KERBEROS_SPN=HTTP@<name in the proxy's keytab>$/);
  assert.match(spnRemedy(ip, 'unknown'), /named by an IP address.*use the proxy's host name in its URL, or set JAATO_KERBEROS_SPN=/);
  // The token's remedy: the SPN's when the KDC does not know it; the principal seen in place of user@REALM.
  assert.equal(tokenRemedy(new KerberosUnknownSpnError('HTTP@wrong', 'Server not found in Kerberos database', undefined, 'linux'), set, undefined), spnRemedy(set, 'unknown'));
  assert.equal(tokenRemedy(new KerberosNoCredentialsError('HTTP@p', 'No credentials were supplied', undefined, 'linux'), set, 'alice@JAATO.TEST'), 'Run `kinit alice@JAATO.TEST` (check with `klist`)');
  assert.equal(tokenRemedy(new Error('not ours'), set, undefined), undefined);
  // A name the library rewrote through DNS (MIT's rdns): krb5.conf, never the service name setting.
  const renamed = tokenRemedy(new KerberosUnknownSpnError('HTTP@proxy.corp', 'Server not found in Kerberos database', undefined, 'linux', 'HTTP/node7.corp@CORP'), set, undefined);
  assert.match(renamed ?? '', /`rdns = false` and `dns_canonicalize_hostname = false`/);
  assert.doesNotMatch(renamed ?? '', /JAATO_KERBEROS_SPN is set|set JAATO_KERBEROS_SPN/);
});

test('a proxy that cannot be reached: the remedy for what went wrong underneath', () => {
  const http = parseProxyUrl('http://proxy.corp:3128', 'HTTPS_PROXY');
  const place = { variable: 'HTTPS_PROXY', host: 'proxy.corp', port: 3128, tls: false };
  const errno = (code: string): Error => Object.assign(new Error(code), { code });
  const rows: ReadonlyArray<[unknown, boolean, RegExp]> = [
    [new ProxyConnectionError(http, 'ECONNREFUSED', errno('ECONNREFUSED')), false, /^nothing accepts connections at proxy\.corp:3128: the proxy is down/],
    [new ProxyConnectionError(http, 'ENOTFOUND', errno('ENOTFOUND')), false, /^the proxy's host name proxy\.corp does not resolve: check HTTPS_PROXY/],
    [new ProxyTimeoutError(http, 'connecting to', 10, 'connect'), false, /^no answer from proxy\.corp:3128 in time/],
    [new ProxyConnectionError(http, 'x', errno('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), true, /--proxy-cacert <file> \(the library's proxyCa option\), or NODE_EXTRA_CA_CERTS=<file>/],
    [new ProxyConnectionError(http, 'x', errno('SELF_SIGNED_CERT_IN_CHAIN')), true, /--proxy-cacert/],
    [new ProxyConnectionError(http, 'x', errno('ERR_TLS_CERT_ALTNAME_INVALID')), true, /not issued for proxy\.corp: use the name it was issued for in HTTPS_PROXY/],
    [new ProxyConnectionError(http, 'x', errno('ERR_SSL_WRONG_VERSION_NUMBER')), true, /write http:\/\/ in HTTPS_PROXY/],
    // A dated certificate is the clock's or a renewal's to fix: no CA option helps.
    [new ProxyConnectionError(http, 'x', errno('CERT_HAS_EXPIRED')), true, /^the proxy's certificate has expired, or this machine's clock is ahead: check the date .*renewed \(no CA option fixes it\)$/],
    [new ProxyConnectionError(http, 'x', errno('CERT_NOT_YET_VALID')), true, /^the proxy's certificate is not valid yet: this machine's clock is probably behind/],
  ];
  for (const [error, tls, remedy] of rows) assert.match(connectionRemedy(error, { ...place, tls }), remedy, String(error));
  for (const [code, remedy] of [['CERT_HAS_EXPIRED', /^the origin's certificate has expired/], ['CERT_NOT_YET_VALID', /^the origin's certificate is not valid yet/], ['SELF_SIGNED_CERT_IN_CHAIN', /^the origin's certificate is not trusted: give its CA with --cacert/]] as const) {
    assert.match(originRemedy(new TypeError('fetch failed', { cause: errno(code) })) ?? '', remedy, code);
  }
});

test('a URL routed direct that cannot be fetched: what failed, and the rule that sent it past the proxy', () => {
  const errno = (code: string): Error => Object.assign(new Error(code), { code });
  assert.equal(directRemedy(errno('ENOTFOUND'), 'NO_PROXY entry ".corp"'), 'the URL\'s host name does not resolve here; it goes direct because of NO_PROXY entry ".corp": if only the proxy reaches it, take it out of that list');
  assert.equal(directRemedy(errno('ECONNREFUSED'), 'no proxy variable is set for https: URLs'), "nothing answers at the URL's host and port from here; it goes direct because no proxy variable is set for https: URLs: if the network needs a proxy, set HTTPS_PROXY/HTTP_PROXY (or -x)");
});

test('what answered the proxy, from the tokens made, not from the setting', () => {
  const ON_BASIC: AuthSetting = { ...ON, basicCredentials: true };
  assert.equal(sentWith(1, ON, ['negotiate']), 'negotiate');
  assert.equal(sentWith(0, ON_BASIC, ['basic']), 'basic');
  assert.equal(sentWith(1, ON_BASIC, ['basic']), 'basic');
  assert.equal(sentWith(0, ON_BASIC, ['negotiate', 'basic']), 'basic');
  assert.equal(sentWith(0, OFF, ['basic']), 'none');
  assert.equal(fetchAuthNote('negotiate', 1, ON, ['negotiate']), 'pre-authenticated with a Negotiate token, no 407');
  assert.equal(fetchAuthNote('negotiate', 2, ON, ['negotiate']), 'after a 407: 2 Negotiate tokens');
  assert.equal(fetchAuthNote('negotiate', 0, ON_BASIC, ['negotiate', 'basic']), 'after a 407, with Basic credentials');
  assert.equal(fetchAuthNote('basic', 0, BASIC, ['basic']), 'Basic credentials sent up front');
  assert.equal(fetchAuthNote('none', 0, OFF, []), 'the proxy asked for no authentication');
  assert.equal(fetchAuthNote('none', 0, OFF, ['ntlm', 'negotiate']), 'after a 407, answered with NTLM');
  assert.equal(fetchAuthNote('none', 0, BASIC, ['basic']), 'after a 407, answered with Basic');
});

test('the authenticated request: any answer but a 407 is accepted credentials; a refusal gets the remedy for what was sent', () => {
  const proxy = parseProxyUrl('http://proxy.corp:3128', 'HTTPS_PROXY');
  const place = { variable: 'HTTPS_PROXY', host: 'proxy.corp', port: 3128, tls: false };
  const spn: SpnState = { spn: 'HTTP@proxy.corp', source: undefined, hostDefault: 'HTTP@proxy.corp', ipLiteral: false };
  const s = { ...ON, spn, principal: undefined, sent: 'negotiate' as const };
  assert.equal(authCheck({ ok: true, answer: 'tunnel open' }, 'CONNECT example.com:443', s, place).detail, 'CONNECT example.com:443 with a Negotiate token for HTTP@proxy.corp: accepted, tunnel open');
  const beyond = authCheck({ ok: false, error: new ProxyTunnelError(proxy, 'example.com:443', 'the proxy answered 503', 503) }, 'CONNECT example.com:443', s, place);
  assert.deepEqual([beyond.status, beyond.detail], ['ok', 'CONNECT example.com:443 with a Negotiate token for HTTP@proxy.corp: accepted; the proxy then answered 503 for the target (not an authentication failure)']);
  const refused = authCheck({ ok: false, error: new ProxyAuthenticationError(proxy, ['negotiate'], 'still refused') }, 'CONNECT example.com:443', s, place);
  assert.deepEqual([refused.status, refused.remedy], ['fail', spnRemedy(spn, 'refused')]);
  const basic = authCheck({ ok: false, error: new ProxyAuthenticationError(proxy, ['basic'], 'refused') }, 'CONNECT x:443', { ...BASIC, spn: undefined, principal: undefined, sent: 'basic' }, place);
  assert.equal(basic.remedy, 'the proxy refused the Basic credentials in HTTPS_PROXY: check the user and password');
});

test('how the proxy authenticates is information: both modes ✓ with "handles both", not seen is a skip saying why', () => {
  assert.deepEqual([authModeCheck('connection', undefined).status, authModeCheck('request', undefined).status, authModeCheck(null, 'closed').status], ['ok', 'ok', 'skip']);
  assert.match(authModeCheck('connection', undefined).detail, /^per connection \(as Squid\).*jaato-proxy handles both/);
  assert.match(authModeCheck('request', undefined).detail, /^per request \(as Apache mod_auth_gssapi\).*jaato-proxy handles both/);
  assert.equal(authModeCheck(null, 'the proxy closed the connection').detail, 'not seen: the proxy closed the connection');
});

test('the reply token: a bad one always ✗ (keytab or man in the middle); none ✗ only with requireMutualAuth, with the remedy for its path', () => {
  const rows: ReadonlyArray<['verified' | 'bad' | 'none', 'CONNECT' | 'forwarded', boolean, string, RegExp | undefined]> = [
    ['verified', 'forwarded', true, 'ok', undefined],
    ['verified', 'CONNECT', false, 'ok', undefined],
    ['none', 'CONNECT', false, 'ok', undefined],
    ['none', 'forwarded', false, 'ok', undefined],
    ['bad', 'forwarded', false, 'fail', /does not verify against HTTP@proxy\.corp: either the proxy does not hold the key of that principal.*a man in the middle/],
    ['bad', 'CONNECT', true, 'fail', /a man in the middle/],
    ['none', 'CONNECT', true, 'fail', /no reply token on CONNECT \(Squid never sends one; Apache mod_auth_gssapi sends one on forwarded http: answers only\).*https:\/wss:.*turn requireMutualAuth off/],
    ['none', 'forwarded', true, 'fail', /no reply token on forwarded requests \(Squid never sends one\).*turn requireMutualAuth off/],
  ];
  for (const [token, path, required, status, remedy] of rows) {
    const c = replyTokenCheck(token, path, required, 'HTTP@proxy.corp');
    assert.equal(c.status, status, `${token} ${path} ${required}`);
    if (remedy) assert.match(c.remedy ?? '', remedy);
    else assert.equal(c.remedy, undefined);
  }
});

test('an authenticated request the proxy did not prove itself on: the mutual-auth remedy for its path, not the credentials\'', () => {
  const proxy = parseProxyUrl('http://proxy.corp:3128', 'HTTPS_PROXY');
  const place = { variable: 'HTTPS_PROXY', host: 'proxy.corp', port: 3128, tls: false };
  const setting = { ...ON, spn: undefined, principal: undefined, sent: 'negotiate' as const };
  const none = authCheck({ ok: false, error: new ProxyMutualAuthError(proxy, 'no-token', 'its 200 answer to CONNECT a:443') }, 'CONNECT a:443', setting, place);
  assert.equal(none.status, 'fail');
  assert.match(none.remedy ?? '', /no reply token on CONNECT/);
  const bad = authCheck({ ok: false, error: new ProxyMutualAuthError(proxy, 'bad-token', 'its 200 answer to HEAD http://a', new Error('x')) }, 'HEAD http://a', setting, place);
  assert.match(bad.remedy ?? '', /a man in the middle/);
});

test('schemeCheck: the scheme that would answer the 407 and why, JAATO_PROXY_AUTH included', () => {
  const rows: ReadonlyArray<[string[], Parameters<typeof schemeCheck>[1], 'ok' | 'warn', RegExp]> = [
    [['negotiate', 'ntlm'], { setting: 'any', kerberos: true, credentials: false }, 'ok', /^Negotiate, because the proxy offers Negotiate$/],
    [['negotiate', 'ntlm'], { setting: 'any', kerberos: false, credentials: false }, 'ok', /^NTLM, because .*Negotiate is off \(JAATO_KERBEROS_PROXY\)/],
    [['negotiate', 'ntlm'], { setting: 'ntlm', kerberos: true, credentials: true }, 'ok', /^NTLM, because the proxy offers NTLM \(JAATO_PROXY_AUTH=ntlm\), with the given credentials$/],
    [['ntlm'], { setting: 'any', kerberos: true, credentials: false, ntlmMechanism: "Samba's /usr/bin/ntlm_auth, out of process" }, 'ok', /^NTLM, because the proxy offers NTLM, with the platform's credentials; NTLM's mechanism: Samba's \/usr\/bin\/ntlm_auth, out of process$/],
    [['negotiate'], { setting: 'any', kerberos: true, credentials: false, ntlmMechanism: 'unused' }, 'ok', /^Negotiate, because the proxy offers Negotiate$/],
    [['negotiate'], { setting: 'basic', kerberos: true, credentials: true }, 'warn', /no scheme would answer the proxy: JAATO_PROXY_AUTH=basic but the proxy offers negotiate/],
  ];
  for (const [offered, s, status, detail] of rows) {
    const c = schemeCheck(offered, s);
    assert.equal(c.name, 'scheme');
    assert.equal(c.status, status, c.detail);
    assert.match(c.detail, detail);
  }
});
