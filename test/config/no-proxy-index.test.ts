import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NoProxyList } from '../../src/config/index.js';
import { parseTarget, targetOf, type TargetHost } from '../../src/config/host.js';

// The index (label-suffix maps, one BlockList per family) must answer exactly as a scan of the list
// in order would. The scan is spelled here with one-entry lists, where there is nothing to index:
// the first entry (in list order) whose own list matches, addresses and names before CIDR ranges,
// as the matcher has always checked them.
function scan(entries: readonly string[], target: TargetHost): string | undefined {
  if (entries.includes('*')) return '*';
  const hit = (e: string): boolean => new NoProxyList(e).match(target) !== undefined;
  return entries.find((e) => !e.includes('/') && hit(e)) ?? entries.find((e) => e.includes('/') && hit(e));
}

const RUNS = { numRuns: Number(process.env.FC_RUNS ?? 300) };
// Few labels, so that random names and random entries share suffixes often.
const label = fc.constantFrom('a', 'b', 'corp', 'example', 'com', 'x-y', 'internal');
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const port = fc.option(fc.constantFrom(80, 443, 8080), { nil: undefined });
const ipv4 = fc.tuple(fc.constantFrom(10, 127, 192), fc.constantFrom(0, 1, 168), fc.nat(3), fc.nat(3)).map((o) => o.join('.'));
const ipv6 = fc.constantFrom('::1', '::2', '2001:db8::1', '2001:db8:1::5', 'fe80::1');
const withPort = (host: string, p: number | undefined): string => (p === undefined ? host : `${host.includes(':') ? `[${host}]` : host}:${p}`);
const entry = fc.oneof(
  fc.tuple(fc.constantFrom('', '.', '*.'), name, port).map(([prefix, n, p]) => withPort(`${prefix}${n}`, p)),
  fc.tuple(fc.oneof(ipv4, ipv6), port).map(([ip, p]) => withPort(ip, p)),
  fc.tuple(ipv4, fc.constantFrom(8, 16, 24, 32)).map(([ip, bits]) => `${ip}/${bits}`),
  fc.tuple(ipv6, fc.constantFrom(16, 64, 128)).map(([ip, bits]) => `${ip}/${bits}`),
  fc.constantFrom('*', 'A.Example.COM.', 'not a host', '10.0.0.0/99'),
);
const target = fc.tuple(fc.oneof(name, ipv4, ipv6), fc.constantFrom(80, 443, 8080)).map(([host, p]) => {
  const ipVersion = /^[\d.]+$/.test(host) ? 4 : host.includes(':') ? 6 : 0;
  return { hostname: host, port: p, ipVersion } as TargetHost;
});

test('property: the indexed NO_PROXY matcher gives the entry a scan of the list gives', () => {
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 30 }), target, (entries, t) => {
      const value = entries.join(',');
      const split = value.split(/[\s,]+/).filter((e) => e !== ''); // 'not a host' is three entries
      assert.equal(new NoProxyList(value).match(t), scan(split, t), `${value} / ${t.hostname}:${t.port}`);
    }),
    RUNS,
  );
});

test('property: with duplicates and ports, the earliest applicable entry is the one reported', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom('', '.'), fc.constantFrom('example.com', 'a.example.com', 'com'), port), { minLength: 1, maxLength: 12 }), fc.constantFrom(80, 443), (rows, p) => {
      const entries = rows.map(([prefix, n, ep]) => withPort(`${prefix}${n}`, ep));
      const t: TargetHost = { hostname: 'a.example.com', port: p, ipVersion: 0 };
      assert.equal(new NoProxyList(entries).match(t), scan(entries, t));
    }),
    RUNS,
  );
});

test('10,000 names, addresses and ranges: the same answers as the scan for every kind of target', () => {
  const entries: string[] = [];
  for (let i = 0; i < 10_000; i++) entries.push(i % 10 === 0 ? `10.${i % 256}.${(i >> 8) % 256}.0/24` : i % 10 === 1 ? `192.168.${i % 256}.${i % 200}` : `.host${i}.example${i % 97}.com`);
  const list = new NoProxyList(entries.join(','));
  const targets: TargetHost[] = [
    { hostname: 'a.host42.example42.com', port: 443, ipVersion: 0 },
    { hostname: 'host9999.example8.com', port: 80, ipVersion: 0 },
    { hostname: 'host9999.example9.com', port: 80, ipVersion: 0 },
    { hostname: 'example42.com', port: 443, ipVersion: 0 },
    { hostname: '10.7.3.9', port: 443, ipVersion: 4 },
    { hostname: '10.7.4.9', port: 443, ipVersion: 4 },
    { hostname: '192.168.11.11', port: 443, ipVersion: 4 },
    { hostname: '::1', port: 443, ipVersion: 6 },
  ];
  for (const t of targets) assert.equal(list.match(t), scan(entries, t), t.hostname);
});

// parseTarget parses once per `scheme://authority` prefix; the host it gives must be the one the
// WHATWG parser gives for the whole URL, tricks included.
test('property: a URL target parsed once per authority is the one a full parse gives', () => {
  const tail = fc.constantFrom('', '/', '/p?q', '?x', '#f', '/a@b.com', '/\\evil.com', '/%2e%2e/', '//other.com/');
  const authority = fc.oneof(
    fc.tuple(name, fc.option(fc.constantFrom(':80', ':443', ':8080', ':0080'), { nil: '' })).map(([n, p]) => `${n}${p}`),
    fc.constantFrom('127.1', '0x7f.0.0.1', 'EXAMPLE.com', 'a.com.', 'user@a.com', 'a.com@b.com', '[::1]:8080', 'a.com\\@b.com', 'a.com%2F.evil'),
  );
  fc.assert(
    fc.property(fc.constantFrom('http', 'https', 'ws', 'wss'), authority, tail, (scheme, auth, rest) => {
      const url = `${scheme}://${auth}${rest}`;
      let expected: TargetHost | undefined;
      try {
        expected = targetOf(new URL(url));
      } catch {
        assert.throws(() => parseTarget(url), { code: 'ERR_JAATO_INVALID_URL' } as object);
        return;
      }
      assert.deepEqual(parseTarget(url).host, expected, url);
      assert.deepEqual(parseTarget(url).host, expected, `${url} (again, from the cache)`);
    }),
    RUNS,
  );
});
