import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacEvaluationError } from '../../src/pac/errors.js';
import { CompiledPac } from '../../src/pac/pac-sandbox.js';

const URL_ = 'http://pac.test/proxy.pac';
const limits = { callTimeoutMs: 300, loadTimeoutMs: 3000, memoryBytes: 16 * 1024 * 1024 };

async function failure(pac: Promise<unknown>): Promise<PacEvaluationError> {
  try {
    await pac;
  } catch (error) {
    assert.ok(error instanceof PacEvaluationError, String(error));
    assert.equal(error.code, 'ERR_JAATO_PAC_EVALUATION');
    assert.match(error.message, /^the PAC file http:\/\/pac\.test\/proxy\.pac \(JAATO_PAC_URL\) /);
    return error;
  }
  assert.fail('expected the PAC to fail');
}

test('PAC sandbox: every standard function and the IPv6 Ex family are there, DNS ones answering', async () => {
  // Written as PACs are (statements, concatenation): pac-resolver's rewriter misses calls inside array literals.
  const pac = await CompiledPac.compile(URL_, `function FindProxyForURL(url, host) {
    var r = '';
    r += isPlainHostName('a') + ' ' + dnsDomainIs('a.corp', '.corp') + ' ' + localHostOrDomainIs('www', 'www.corp') + ' ';
    r += isResolvable('localhost') + ' ' + isInNet('127.0.0.1', '127.0.0.0', '255.0.0.0') + ' ' + dnsResolve('localhost') + ' ';
    r += (myIpAddress().split('.').length === 4) + ' ' + dnsDomainLevels('a.b.c') + ' ' + shExpMatch('x.corp', '*.corp') + ' ';
    r += typeof weekdayRange('MON', 'SUN') + ' ' + typeof dateRange(1, 31) + ' ' + typeof timeRange(0, 23) + ' ';
    r += isResolvableEx('localhost') + ' ' + isInNetEx('::1', '::1/128') + ' ' + isInNetEx('10.1.2.3', '10.0.0.0/8') + ' ';
    r += (dnsResolveEx('localhost').indexOf('127.0.0.1') >= 0) + ' ' + (myIpAddressEx() !== '') + ' ' + sortIpAddressList('10.0.0.1;::1') + ' ';
    return r + getClientVersion() + ' ' + url;
  }`, limits);
  try {
    assert.equal(await pac.findProxy('https://x.corp:443/', 'x.corp'), 'true true true true true 127.0.0.1 true 2 true boolean boolean boolean true true true true true ::1;10.0.0.1 1.0 https://x.corp/');
  } finally {
    pac.dispose();
  }
});

test('PAC sandbox: no Node inside, not even through constructors (process, require, timers, fetch, WebAssembly)', async () => {
  const pac = await CompiledPac.compile(URL_, `function FindProxyForURL(url, host) {
    var F = (function () {}).constructor; var mk = F('return this'); var g = mk();
    return [typeof process, typeof require, typeof setTimeout, typeof g.process, typeof g.require, typeof g.fetch, typeof g.WebAssembly, typeof g.globalThis.Buffer].join(' ');
  }`, limits);
  try {
    assert.equal(await pac.findProxy('http://a/', 'a'), Array(8).fill('undefined').join(' '));
  } finally {
    pac.dispose();
  }
});

test('PAC sandbox: an endless loop is stopped at its time limit, and the PAC answers again afterwards', async () => {
  const pac = await CompiledPac.compile(URL_, `function FindProxyForURL(url, host) { if (host === 'loop') for (;;) {} return 'DIRECT'; }`, limits);
  try {
    const e = await failure(pac.findProxy('http://loop/', 'loop'));
    assert.equal(e.failure, 'timeout');
    assert.match(e.message, /ran past its 300 ms limit in FindProxyForURL/);
    assert.equal(await pac.findProxy('http://ok/', 'ok'), 'DIRECT');
  } finally {
    pac.dispose();
  }
});

test('PAC sandbox: a loop at the top level is stopped while loading', async () => {
  const e = await failure(CompiledPac.compile(URL_, `for (;;) {} function FindProxyForURL() { return 'DIRECT'; }`, limits));
  assert.equal(e.failure, 'timeout');
  assert.match(e.message, /ran past its 3000 ms limit while loading/);
});

test('PAC sandbox: a script that allocates without end hits its memory limit', async () => {
  const pac = await CompiledPac.compile(URL_, `function FindProxyForURL() { var a = []; for (;;) a.push(new Array(4096).join('x') + a.length); }`, { callTimeoutMs: 5000, loadTimeoutMs: 3000, memoryBytes: 8 * 1024 * 1024 });
  try {
    const e = await failure(pac.findProxy('http://a/', 'a'));
    assert.equal(e.failure, 'memory');
    assert.match(e.message, /ran out of its 8 MiB of memory/);
  } finally {
    pac.dispose();
  }
});

test('PAC sandbox: a script that throws, one that does not parse, one without FindProxyForURL', async () => {
  const pac = await CompiledPac.compile(URL_, `function FindProxyForURL() { throw new Error('boom'); }`, limits);
  try {
    const e = await failure(pac.findProxy('http://a/', 'a'));
    assert.equal(e.failure, 'threw');
    assert.match(e.message, /threw in FindProxyForURL: Error: boom/);
  } finally {
    pac.dispose();
  }
  assert.equal((await failure(CompiledPac.compile(URL_, 'function FindProxyForURL( {', limits))).failure, 'compile');
  assert.match((await failure(CompiledPac.compile(URL_, 'var x = 1;', limits))).message, /does not compile: .*FindProxyForURL/);
});

test('PAC sandbox: a script that keeps awaiting DNS lookups ends at its limit, is not left running, and the PAC answers again', async () => {
  // Between lookups the script waits outside QuickJS, where the interrupt cannot see it: the timer bounds it.
  let lookups = 0;
  const pac = await CompiledPac.compile(URL_, `function FindProxyForURL(url, host) { if (host === 'spin') while (true) { var a = dnsResolve('localhost'); alert(a); } return 'DIRECT'; }`, limits, () => void lookups++);
  try {
    assert.equal((await failure(pac.findProxy('http://spin/', 'spin'))).failure, 'timeout');
    const atTimeout = lookups;
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(lookups - atTimeout <= 1, `the parked script ran on: ${lookups - atTimeout} more lookups`);
    assert.equal(await pac.findProxy('http://ok/', 'ok'), 'DIRECT');
  } finally {
    pac.dispose();
  }
});
