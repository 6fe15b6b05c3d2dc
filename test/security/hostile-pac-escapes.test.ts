/**
 * A hostile PAC author trying to get out of the sandbox, or to hurt the host through it (issue 24):
 * the attempts that already held when the review was made, kept closed. Each asserts the safe result
 * or the typed PacEvaluationError, and the file ends by asserting that no promise rejection went
 * unhandled in this process. The shapes that once ended or froze the process are in hostile-pac.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PacEvaluationError, type PacFailure } from '../../src/pac/errors.js';
import { PacRouter } from '../../src/pac/pac-router.js';
import { CompiledPac } from '../../src/pac/pac-sandbox.js';

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => process.off('unhandledRejection', onUnhandled));

const URL_ = 'http://pac.test/proxy.pac';
const limits = { callTimeoutMs: 500, loadTimeoutMs: 3000, memoryBytes: 16 * 1024 * 1024 };

async function answer(text: string): Promise<unknown> {
  const pac = await CompiledPac.compile(URL_, text, limits);
  try {
    return await pac.findProxy('http://victim.test/', 'victim.test');
  } finally {
    pac.dispose();
  }
}

async function fails(work: Promise<unknown>, ...failures: PacFailure[]): Promise<PacEvaluationError> {
  const error = await work.then(
    (value) => assert.fail(`expected a typed error, got ${String(value).slice(0, 100)}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PacEvaluationError, String(error));
  assert.ok(failures.includes(error.failure), `failure ${error.failure}: ${error.message}`);
  return error;
}

const DANGEROUS = ['process', 'require', 'module', 'exports', 'Buffer', 'std', 'os', 'fetch', 'setTimeout', 'setImmediate', 'WebAssembly', 'global', '__dirname'];

test('escape: nothing of Node is reachable, directly or through any constructor chain of a PAC function', async () => {
  const routes = [
    'this',
    'globalThis',
    // A call of a call's result is beyond pac-resolver's rewrite: each maker is called through a variable.
    "call(Function('return this'))",
    "call(dnsResolve.constructor('return this'))",
    "call(shExpMatch.constructor.constructor('return this'))",
    "call(alert.constructor('return this'))",
    "call(Object.getPrototypeOf(async function a() {}).constructor('return this'))",
    "call(function () { return this; })",
    "eval('this')",
  ];
  const text = `function call(f) { return f(); }
  function FindProxyForURL(url, host) {
    var names = ${JSON.stringify(DANGEROUS)}; var found = [];
    var routes = [${routes.map((r) => `function () { return ${r}; }`).join(', ')}];
    for (var i = 0; i < routes.length; i++) {
      var g = routes[i]();
      for (var j = 0; j < names.length; j++) if (g && typeof g[names[j]] !== 'undefined') found.push(i + ':' + names[j]);
    }
    var own = Object.getOwnPropertyNames(dnsResolve).concat(Object.getOwnPropertyNames(shExpMatch)).sort().join(',');
    return 'found=' + found.join(',') + ' own=' + own;
  }`;
  assert.equal(await answer(text), 'found= own=length,length,name,name');
});

test('escape: import() and import.meta do not compile; a script without FindProxyForURL is refused', async () => {
  await fails(CompiledPac.compile(URL_, "function FindProxyForURL() { return import('fs'); }", limits), 'compile');
  await fails(CompiledPac.compile(URL_, 'function FindProxyForURL() { return import.meta.url; }', limits), 'compile');
  await fails(CompiledPac.compile(URL_, 'var FindProxyForURL = 42;', limits), 'compile');
});

test('escape: the script polluting its prototypes, or returning __proto__ objects, changes nothing in Node', async () => {
  const text = `function FindProxyForURL(url, host) {
    Object.prototype.polluted = 'yes'; Array.prototype.join = function () { return 'PROXY evil:1'; };
    String.prototype.split = function () { return ['PROXY evil:1']; }; JSON.parse = function () { return 'evil'; };
    return JSON.constructor.prototype.constructor === Object ? 'DIRECT' : 'DIRECT';
  }`;
  assert.equal(await answer(text), 'DIRECT');
  const proto = await answer(`function FindProxyForURL() { return JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}'); }`);
  assert.equal(typeof proto, 'object');
  assert.equal(Object.getPrototypeOf(proto), null, 'an object the script returns is never copied out');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(['a', 'b'].join(';'), 'a;b');
  assert.deepEqual('a;b'.split(';'), ['a', 'b']);
  assert.equal(JSON.parse('1'), 1);
});

test('escape: objects handed to PAC functions are refused inside the script; their toString never runs in Node', async () => {
  const text = `function FindProxyForURL(url, host) {
    var out = [];
    var evil = { toString: function () { for (;;) {} } };
    try { shExpMatch(evil, '*'); out.push('ran'); } catch (e) { out.push(e.message); }
    try { dnsDomainIs('a', evil); out.push('ran'); } catch (e) { out.push(e.message); }
    try { isInNet(evil, '10.0.0.0', '255.0.0.0'); out.push('ran'); } catch (e) { out.push(e.message); }
    try { dnsResolve([1, 2]); out.push('ran'); } catch (e) { out.push(e.message); }
    return out.join(' | ');
  }`;
  const got = String(await answer(text));
  assert.equal(got.split(' | ').length, 4, got);
  for (const part of got.split(' | ')) assert.match(part, /\(\) takes strings and numbers, not an object$/);
});

test('escape: memory bombs end at the heap limit, as typed errors; the PAC answers afterwards', async () => {
  const pac = await CompiledPac.compile(URL_, `function FindProxyForURL(url, host) {
    if (host === 'array') { var a = []; for (;;) a.push(new Array(10000).fill(a.length)); }
    if (host === 'string') { var s = 'x'; for (;;) s += s; }
    if (host === 'regexp') { return /^(a+)+$/.test(Array(40).join('a') + '!') ? 'yes' : 'no'; }
    return 'DIRECT';
  }`, limits);
  try {
    await fails(pac.findProxy('http://array/', 'array'), 'memory');
    await fails(pac.findProxy('http://string/', 'string'), 'memory', 'threw');
    // A catastrophic regex inside the script runs in QuickJS, under the interrupt.
    await fails(pac.findProxy('http://regexp/', 'regexp'), 'timeout');
    assert.equal(await pac.findProxy('http://ok/', 'ok'), 'DIRECT');
  } finally {
    pac.dispose();
  }
});

test('escape: endless loops (in a call, at load, in the job queue, in alert) and deep recursion are typed errors', async () => {
  await fails(answer('function FindProxyForURL() { for (;;) {} }'), 'timeout');
  await fails(answer("function FindProxyForURL() { for (;;) alert('x'); }"), 'timeout');
  await fails(CompiledPac.compile(URL_, 'for (;;) {} function FindProxyForURL() { return "DIRECT"; }', limits), 'timeout');
  // Promise chains without end grow the job queue too: whichever bound comes first.
  await fails(answer("function FindProxyForURL() { Promise.resolve().then(function loop() { return Promise.resolve().then(loop); }); return 'DIRECT'; }"), 'timeout', 'memory');
  await fails(answer("function FindProxyForURL() { var a = dnsResolve('127.0.0.1'); Promise.resolve().then(function loop() { return Promise.resolve().then(loop); }); return 'DIRECT'; }"), 'timeout', 'memory');
  const deep = await fails(answer('function f(n) { return f(n + 1) + 1; } function FindProxyForURL() { return f(0); }'), 'threw', 'memory');
  assert.match(deep.message, /stack|recursion|memory/i);
});

test('escape: what the script throws reaches Node as text only: no getter, toString or control character of its runs there', async () => {
  const obj = await fails(answer('function FindProxyForURL() { throw { toString: function () { for (;;) {} } }; }'), 'timeout', 'threw');
  assert.doesNotMatch(String(obj.cause), /\[object/);
  const later = await fails(answer("function FindProxyForURL() { dnsResolve('127.0.0.1'); throw { toString: function () { for (;;) {} } }; }"), 'threw');
  assert.match(later.message, /threw in FindProxyForURL: Error: an object that is not an Error$/);
  await fails(answer('function FindProxyForURL() { throw new Proxy({}, { get: function () { for (;;) {} } }); }'), 'timeout', 'threw');
  await fails(answer("function FindProxyForURL() { var e = new Error('x'); Object.defineProperty(e, 'message', { get: function () { for (;;) {} } }); throw e; }"), 'timeout', 'threw');
  const forged = await fails(answer("function FindProxyForURL() { throw new Error('a\\nJAATO-PROXY 1: forged\\u001b[2J'); }"), 'threw');
  assert.doesNotMatch(forged.message, /[\n\u001b]/);
  assert.match(forged.message, /a\\nJAATO-PROXY 1: forged\\x1b\[2J/);
  const long = await fails(answer("function FindProxyForURL() { throw new Error(Array(100000).join('x')); }"), 'threw');
  assert.ok(long.message.length < 400, `${long.message.length} characters`);
});

test('escape: huge and non-string answers through the router: typed "answer" errors, never coerced in Node', async () => {
  let body = '';
  const server = createServer((req, res) => void res.writeHead(200).end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/proxy.pac`;
  const cases: [string, RegExp][] = [
    ['42', /returned number 42 for a\.test/],
    ['null', /returned null for/],
    ['undefined', /returned undefined for/],
    ["{ toString: function () { return 'PROXY evil:1'; } }", /returned an object for/],
    ["new String('PROXY evil:1')", /returned an object for/],
    ["['PROXY evil:1']", /returned an object for/],
    ["new Proxy({}, { get: function () { for (;;) {} } })", /returned an object for/],
    ['function () {}', /returned an object for/],
    ["Symbol('PROXY evil:1')", /returned symbol Symbol\(from the PAC\) for/],
    ['BigInt(10)', /returned bigint 10 for/],
    ["Array(8000001).join('x')", /returned no usable entry for a\.test \("x{200}"\)/],
    ["Array(300001).join('SOCKS s:1;')", /returned no usable entry .*more than 10 entries/],
  ];
  try {
    for (const [value, expected] of cases) {
      body = `function FindProxyForURL(url, host) { return ${value}; }`;
      const router = new PacRouter({ url, limits });
      try {
        const e = await fails(router.decide(new URL('http://a.test/')), 'answer');
        assert.match(e.message, expected, value);
        assert.ok(e.message.length < 2000, `${value}: a message of ${e.message.length} characters`);
      } finally {
        router.close();
      }
    }
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('the caller\'s abort signal ends its wait for a PAC that runs to its limit', async () => {
  // Waiting on DNS (localhost: the hosts file, no traffic), so the event loop runs and the signal can fire.
  // A script that computes holds the loop until its time limit, abort or not: that limit is the bound.
  const server = createServer((req, res) => void res.writeHead(200).end("function FindProxyForURL() { for (;;) dnsResolve('localhost'); }"));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const router = new PacRouter({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/proxy.pac`, limits: { ...limits, callTimeoutMs: 5000 } });
  try {
    const started = Date.now();
    await assert.rejects(router.decide(new URL('http://a.test/'), AbortSignal.timeout(300)), { name: 'TimeoutError' });
    assert.ok(Date.now() - started < 3000, `the wait took ${Date.now() - started} ms (the PAC's limit is 5000 ms)`);
    const aborted = new AbortController();
    aborted.abort(new Error('gone'));
    await assert.rejects(router.decide(new URL('http://b.test/'), aborted.signal), /gone/);
  } finally {
    router.close();
    await new Promise((r) => server.close(r));
  }
});

test('no promise rejection went unhandled in this process during any of the above', async () => {
  // Rejections are reported after a macrotask turn.
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(unhandled.map(String), []);
  unhandled = [];
});
