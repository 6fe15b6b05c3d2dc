import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideOn407, MAX_AUTH_RETRIES, type AuthState } from '../../src/auth/auth-decision.js';

const base: AuthState = { offered: ['negotiate'], kerberos: true, hasBasicCredentials: false, lastSent: 'none', retries: 0 };

const rows: ReadonlyArray<[Partial<AuthState>, string, RegExp?]> = [
  [{}, 'negotiate'],
  [{ lastSent: 'negotiate', retries: 1 }, 'negotiate'], // a fresh token once more
  [{ retries: MAX_AUTH_RETRIES, lastSent: 'negotiate' }, 'fail', /JAATO_KERBEROS_SPN/],
  [{ offered: ['negotiate', 'basic'], hasBasicCredentials: true }, 'negotiate'],
  [{ offered: ['basic'], hasBasicCredentials: true }, 'basic'],
  [{ offered: ['basic'], hasBasicCredentials: true, lastSent: 'basic' }, 'fail', /refused the Basic/],
  [{ offered: ['basic'] }, 'fail', /user:password@proxy/],
  [{ kerberos: false }, 'fail', /JAATO_KERBEROS_PROXY=true/],
  [{ kerberos: false, offered: ['negotiate', 'basic'], hasBasicCredentials: true }, 'basic'],
  [{ offered: ['ntlm', 'digest'] }, 'fail', /none of the offered schemes/],
  [{ offered: [] }, 'fail', /no Proxy-Authenticate/],
];
for (const [patch, action, reason] of rows) {
  test(`407 decision: ${JSON.stringify(patch)} -> ${action}`, () => {
    const d = decideOn407({ ...base, ...patch });
    assert.equal(d.action, action);
    if (reason) assert.match(d.action === 'fail' ? d.reason : '', reason);
  });
}
