import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLabPrerequisites, LabSetupError } from '../lab/prerequisites.js';

test('a missing lab program names its Debian package and the install command', () => {
  assert.doesNotThrow(() => checkLabPrerequisites(), 'this machine has the lab installed');
  assert.throws(
    () => checkLabPrerequisites([{ path: '/usr/sbin/krb5kdc', pkg: 'krb5-kdc' }, { path: '/nonexistent/squid', pkg: 'squid' }, { path: '/nonexistent/x', pkg: 'squid' }]),
    (e: unknown) =>
      e instanceof LabSetupError &&
      e.code === 'ERR_JAATO_LAB_SETUP' &&
      e.message === 'The Kerberos lab needs Debian packages that are not installed: squid. Install them with: apt-get update && apt-get install -y squid',
  );
  assert.throws(
    () => checkLabPrerequisites([{ path: '/nonexistent/mod_auth_gssapi.so', pkg: 'libapache2-mod-auth-gssapi' }]),
    (e: unknown) => e instanceof LabSetupError && e.message.includes('not installed: libapache2-mod-auth-gssapi.'),
  );
});
