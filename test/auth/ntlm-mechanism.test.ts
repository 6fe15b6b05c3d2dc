import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideNtlmMechanism } from '../../src/auth/ntlm-mechanism.js';

const clash = { node: '3.0.15+quic', system: '3.0.17' };

test('the NTLM mechanism: SSPI on Windows whatever was found; elsewhere ntlm_auth first, then GSSAPI unless OpenSSL clashes', () => {
  assert.deepEqual(decideNtlmMechanism('win32', '/usr/bin/ntlm_auth', clash), { kind: 'sspi' });
  assert.deepEqual(decideNtlmMechanism('linux', '/usr/bin/ntlm_auth', clash), { kind: 'ntlm_auth', binary: '/usr/bin/ntlm_auth' });
  assert.deepEqual(decideNtlmMechanism('darwin', '/opt/samba/bin/ntlm_auth', undefined), { kind: 'ntlm_auth', binary: '/opt/samba/bin/ntlm_auth' });
  assert.deepEqual(decideNtlmMechanism('linux', undefined, undefined), { kind: 'gssapi' });
  assert.deepEqual(decideNtlmMechanism('linux', undefined, clash), { kind: 'refused', clash });
});
