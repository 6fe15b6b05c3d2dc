// The error classes are one family across copies of the package: an error made by another copy (two
// versions in node_modules, an ESM and a bundled copy) is still `instanceof` the class a caller
// imported, as undici's errors are (Symbol.for brand + static Symbol.hasInstance). And an error code is
// a union of literals: a misspelt code does not compile (the @ts-expect-error lines below fail the
// test build if the misspelling ever compiles).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import * as A from '../../src/index.js';
import { ROOT } from './helpers.js';

let dir = '';
let B: typeof A;

before(async () => {
  // A second copy of the built package, as a second version in node_modules would be.
  dir = mkdtempSync(join(tmpdir(), 'jaato-copy-'));
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "name": "jaato-proxy-copy", "private": true, "type": "module" }\n');
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  B = (await import(pathToFileURL(join(dir, 'dist', 'index.js')).href)) as typeof A;
  assert.notEqual(B.JaatoProxyError, A.JaatoProxyError, 'the copy is a second module instance');
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("another copy's errors are instances of this copy's classes, and only of their own", () => {
  const option = new B.InvalidOptionError('JAATO_LOCAL_PROXY', 'not a boolean');
  assert.ok(option instanceof A.InvalidOptionError);
  assert.ok(option instanceof A.JaatoProxyError);
  assert.ok(option instanceof Error);
  assert.ok(!(option instanceof A.InvalidProxyUrlError));
  assert.ok(!(option instanceof A.KerberosError));

  const noTicket = new B.KerberosNoCredentialsError('HTTP@proxy', 'No credentials cache found', undefined, 'linux');
  assert.ok(noTicket instanceof A.KerberosNoCredentialsError);
  assert.ok(noTicket instanceof A.KerberosError, 'a subclass of a subclass, across copies');
  assert.ok(noTicket instanceof A.JaatoProxyError);
  assert.ok(!(noTicket instanceof A.KerberosTicketExpiredError));

  // And within one copy, as before.
  assert.ok(new A.KerberosNoCredentialsError('HTTP@proxy', 'x', undefined, 'linux') instanceof A.KerberosError);
  assert.ok(!(new A.InvalidOptionError('o', 'm') instanceof A.KerberosError));
});

test("unwrapError finds another copy's error inside fetch's TypeError", () => {
  // Ours has a cause of its own: unwrapping must stop at ours, not run on to the innermost error.
  const ours = new B.JaatoProxyError('ERR_JAATO_PROXY_AUTH', 'refused', { cause: new Error('GSSAPI said no') });
  assert.equal(A.unwrapError(new TypeError('fetch failed', { cause: ours })), ours);
});

test('nothing else passes for one: a plain Error, an object, a look-alike class', () => {
  class InvalidOptionError extends Error {}
  for (const v of [new Error('x'), new InvalidOptionError('x'), { code: 'ERR_JAATO_INVALID_OPTION' }, null, undefined, 'ERR_JAATO_INVALID_OPTION']) {
    assert.ok(!(v instanceof A.JaatoProxyError), String(v));
    assert.ok(!(v instanceof A.InvalidOptionError), String(v));
  }
});

test('error codes are literals: a misspelt one does not compile, a real one narrows', () => {
  const e: A.JaatoProxyError = new A.JaatoProxyError('ERR_JAATO_PROXY_AUTH', 'x');
  // @ts-expect-error: no such code (PROXI)
  assert.equal(e.code === 'ERR_JAATO_PROXI_AUTH', false);
  // @ts-expect-error: a code must be one of the table's
  assert.throws(() => { throw new A.JaatoProxyError('ERR_JAATO_NO_SUCH_CODE', 'x'); }, A.JaatoProxyError);
  const code: A.JaatoProxyErrorCode = e.code;
  assert.equal(code, 'ERR_JAATO_PROXY_AUTH');
  // instanceof still narrows to the subclass's fields.
  const u: unknown = new A.InvalidOptionError('spn', 'bad');
  if (u instanceof A.InvalidOptionError) assert.equal(u.option, 'spn');
  else assert.fail('not narrowed');
});
