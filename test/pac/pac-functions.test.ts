import { test } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import { boundedDns, dnsDomainLevels, dnsResolveEx, isInNetEx, isPlainHostName, localHostOrDomainIs, sortIpAddressList } from '../../src/pac/pac-functions.js';

test('PAC functions: the ones replaced answer as browsers do', () => {
  const cases: [string, unknown, unknown][] = [
    ['dnsDomainLevels www', dnsDomainLevels('www'), 0],
    ['dnsDomainLevels www.netscape.com', dnsDomainLevels('www.netscape.com'), 2],
    ['isPlainHostName www', isPlainHostName('www'), true],
    ['isPlainHostName www.netscape.com', isPlainHostName('www.netscape.com'), false],
    ['localHostOrDomainIs exact', localHostOrDomainIs('www.netscape.com', 'www.netscape.com'), true],
    ['localHostOrDomainIs unqualified', localHostOrDomainIs('www', 'www.netscape.com'), true],
    ['localHostOrDomainIs other domain', localHostOrDomainIs('www.mcom.com', 'www.netscape.com'), false],
    ['localHostOrDomainIs other host', localHostOrDomainIs('home.netscape.com', 'www.netscape.com'), false],
    ['localHostOrDomainIs prefix not at a dot', localHostOrDomainIs('ww', 'www.netscape.com'), false],
  ];
  for (const [name, got, expected] of cases) assert.equal(got, expected, name);
});

test('PAC functions: a hostile string (millions of characters) costs linear time and no array per character', async () => {
  const dots = '.'.repeat(8_000_000);
  const started = Date.now();
  const heap = process.memoryUsage().heapUsed;
  assert.equal(dnsDomainLevels(dots), 8_000_000);
  assert.equal(localHostOrDomainIs(dots, dots + 'x'), false);
  assert.equal(sortIpAddressList(';'.repeat(8_000_000)), false);
  assert.equal(await isInNetEx('10.0.0.1', `10.0.0.0/${'/'.repeat(8_000_000)}`), false);
  assert.equal(await dnsResolveEx('a'.repeat(8_000_000)), '');
  assert.ok(process.memoryUsage().heapUsed - heap < 100 * 2 ** 20, 'no array as long as the string');
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
});

test('PAC functions: DNS is asked only for what can be a name (253 characters)', async (t) => {
  const asked: string[] = [];
  // t.mock.method takes any function for one with overloads (dns.lookup's), where an assignment would need a cast.
  const lookup = t.mock.method(dns, 'lookup', (host: string, options: unknown, callback?: (e: Error | null, a?: string, f?: number) => void) => {
    asked.push(host);
    const cb = (typeof options === 'function' ? options : callback) as (e: Error | null, a?: string, f?: number) => void;
    process.nextTick(() => cb(null, '10.1.2.3', 4));
  });
  syncBuiltinESMExports();
  t.after(() => {
    lookup.mock.restore();
    syncBuiltinESMExports();
  });
  const { sandbox } = await import('pac-resolver');
  const f = boundedDns(sandbox as never);
  const long = `${'a'.repeat(250)}.test`;
  assert.equal(await f.dnsResolve?.(long), null);
  assert.equal(await f.isResolvable?.(long), false);
  assert.equal(await f.isInNet?.(long, '10.0.0.0', '255.0.0.0'), false);
  assert.equal(await f.isInNet?.('ok.test', `10.0.0.0${' '.repeat(100)}`, '255.0.0.0'), false);
  assert.deepEqual(asked, []);
  assert.equal(await f.dnsResolve?.('ok.test'), '10.1.2.3');
  assert.equal(await f.isInNet?.('ok.test', '10.0.0.0', '255.0.0.0'), true);
  assert.deepEqual(asked, ['ok.test', 'ok.test']);
});
