import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestName } from '../../src/transport/request-name.js';

test('requestName: method and origin only, never the path, query or credentials', () => {
  const rows: ReadonlyArray<[string, string, string]> = [
    ['GET', 'http://example.test/secret?token=1', 'GET http://example.test'],
    ['POST', 'https://user:pw@example.test:8443/p#f', 'POST https://example.test:8443'],
    ['GET', '/origin-form/path', 'GET'], // not absolute: the method only
    ['OPTIONS', '*', 'OPTIONS'],
  ];
  for (const [method, target, name] of rows) assert.equal(requestName(method, target), name, target);
});
