import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseProxyScheme, parseProxyAuthSetting, type SchemeInputs } from '../../src/auth/index.js';
import { JaatoProxyError } from '../../src/errors.js';

// The decision's spec: offered schemes, JAATO_PROXY_AUTH, Negotiate on, credentials given, what failed → the scheme.
type Row = [offered: string, setting: SchemeInputs['setting'], kerberos: boolean, credentials: boolean, failed: '' | 'negotiate' | 'ntlm' | 'both', expected: string | undefined, reason: RegExp];
const ROWS: Row[] = [
  ['negotiate,ntlm', 'any', true, false, '', 'negotiate', /offers Negotiate/],
  ['ntlm,negotiate', 'any', true, false, '', 'negotiate', /offers Negotiate/], // our preference, not the proxy's order
  ['negotiate,ntlm', 'any', true, false, 'negotiate', 'ntlm', /Negotiate could not make a token \(ERR_X\)/],
  ['negotiate,ntlm', 'any', false, false, '', 'ntlm', /Negotiate is off/],
  ['negotiate,ntlm,basic', 'any', true, true, 'both', 'basic', /Negotiate could not.*NTLM could not/],
  ['negotiate,ntlm', 'any', true, false, 'both', undefined, /Negotiate could not.*NTLM could not/],
  ['ntlm', 'any', false, false, '', 'ntlm', /platform's credentials/],
  ['ntlm,basic', 'any', false, true, '', 'ntlm', /given credentials/], // the password never on the wire
  ['basic', 'any', false, true, '', 'basic', /offers Basic/],
  ['basic', 'any', false, false, '', undefined, /Basic needs a user and password/],
  ['negotiate,ntlm', 'ntlm', true, false, '', 'ntlm', /JAATO_PROXY_AUTH=ntlm/],
  ['negotiate', 'ntlm', true, false, '', undefined, /JAATO_PROXY_AUTH=ntlm but the proxy offers negotiate/],
  ['negotiate,ntlm', 'negotiate', true, false, 'negotiate', undefined, /Negotiate could not make a token/], // pinned: no fall to NTLM
  ['ntlm', 'negotiate', true, false, '', undefined, /JAATO_PROXY_AUTH=negotiate but the proxy offers ntlm/],
  ['negotiate,ntlm,basic', 'basic', true, true, '', 'basic', /JAATO_PROXY_AUTH=basic/],
  ['negotiate,ntlm', 'basic', true, true, '', undefined, /JAATO_PROXY_AUTH=basic but/],
  ['digest', 'any', true, true, '', undefined, /none of the offered schemes \(digest\)/],
  ['', 'any', true, true, '', undefined, /no Proxy-Authenticate challenge/],
];

test('chooseProxyScheme: the table', () => {
  for (const [offered, setting, kerberos, credentials, failed, expected, reason] of ROWS) {
    const choice = chooseProxyScheme({
      offered: offered ? offered.split(',') : [],
      setting,
      kerberos,
      credentials,
      negotiateFailed: failed === 'negotiate' || failed === 'both' ? 'ERR_X' : undefined,
      ntlmFailed: failed === 'ntlm' || failed === 'both' ? 'ERR_Y' : undefined,
    });
    const row = JSON.stringify([offered, setting, kerberos, credentials, failed]);
    assert.equal(choice.scheme, expected, `${row}: ${choice.reason}`);
    assert.match(choice.reason, reason, row);
  }
});

test('JAATO_PROXY_AUTH: the four values (any case), any when unset, a typed error naming the variable otherwise', () => {
  assert.equal(parseProxyAuthSetting({}), 'any');
  assert.equal(parseProxyAuthSetting({ JAATO_PROXY_AUTH: ' ' }), 'any');
  for (const v of ['negotiate', 'ntlm', 'basic', 'any']) assert.equal(parseProxyAuthSetting({ JAATO_PROXY_AUTH: v.toUpperCase() }), v);
  assert.throws(() => parseProxyAuthSetting({ JAATO_PROXY_AUTH: 'kerberos' }), (e: unknown) => {
    assert.ok(e instanceof JaatoProxyError);
    assert.equal(e.code, 'ERR_JAATO_INVALID_OPTION');
    assert.match(e.message, /^JAATO_PROXY_AUTH: must be one of negotiate, ntlm, basic, any, got "kerberos"/);
    return true;
  });
  assert.throws(() => parseProxyAuthSetting({ JAATO_PROXY_AUTH: 'ntlm' }, 'digest'), /^JaatoProxyError|proxyAuth: must be one of/);
});
