import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toOriginForm } from '../../src/transport/origin-form-connection.js';

test('toOriginForm: an absolute-form request line becomes origin form; anything else is left alone', () => {
  const rows: Array<[string, string]> = [
    ['GET http://localhost:8080/a/b?q=1 HTTP/1.1', 'GET /a/b?q=1 HTTP/1.1'],
    ['POST http://api.corp.example/v1 HTTP/1.1', 'POST /v1 HTTP/1.1'],
    ['GET http://h.example HTTP/1.1', 'GET / HTTP/1.1'],
    ['GET http://h.example?x=1 HTTP/1.1', 'GET /?x=1 HTTP/1.1'],
    ['GET http://[::1]:8080/v6 HTTP/1.1', 'GET /v6 HTTP/1.1'],
    ['GET http://user@h.example/p HTTP/1.0', 'GET /p HTTP/1.0'],
    ['GET /already HTTP/1.1', 'GET /already HTTP/1.1'],
    ['OPTIONS * HTTP/1.1', 'OPTIONS * HTTP/1.1'],
    ['CONNECT h.example:443 HTTP/1.1', 'CONNECT h.example:443 HTTP/1.1'],
  ];
  for (const [line, expected] of rows) assert.equal(toOriginForm(line), expected, line);
});
