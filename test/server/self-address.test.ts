// The pure decisions behind serve's loop guard and allow-list warnings: tables, one subtest per row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { allowWarnings, parseAllowEntry } from '../../src/server/allow-list.js';
import { canonicalIp, ListeningAddresses } from '../../src/server/self-address.js';

const CANONICAL: ReadonlyArray<[string, string | undefined]> = [
  ['127.0.0.1', '127.0.0.1'],
  ['127.1', '127.0.0.1'],
  ['0x7f000001', '127.0.0.1'],
  ['2130706433', '127.0.0.1'],
  ['0177.0.0.1', '127.0.0.1'],
  ['127.0.0.1.', '127.0.0.1'],
  ['0', '0.0.0.0'],
  ['::ffff:127.0.0.1', '127.0.0.1'],
  ['[::ffff:127.0.0.1]', '127.0.0.1'],
  ['::ffff:7f00:1', '127.0.0.1'],
  ['0:0:0:0:0:ffff:7f00:1', '127.0.0.1'],
  ['::FFFF:C000:0202', '192.0.2.2'],
  ['0:0:0:0:0:0:0:1', '::1'],
  ['[::1]', '::1'],
  ['fe80::1%eth0', 'fe80::1'],
  ['2001:DB8::1', '2001:db8::1'],
  ['::', '::'],
  ['localhost', undefined],
  ['vm', undefined],
  ['not an ip', undefined],
  ['', undefined],
];

for (const [raw, expected] of CANONICAL) {
  test(`canonicalIp(${JSON.stringify(raw)}) = ${String(expected)}`, () => assert.equal(canonicalIp(raw), expected));
}

const IFACES: NodeJS.Dict<NetworkInterfaceInfo[]> = {
  lo: [
    { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
    { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '::1/128', scopeid: 0 },
  ],
  eth0: [
    { address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '192.0.2.2/24' },
    { address: '2001:db8::2', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: '2001:db8::2/64', scopeid: 0 },
  ],
};

// [listening address, destination, reaches it]; the port is the listener's in every row but the last.
const REACHES: ReadonlyArray<[string, string, boolean]> = [
  ['127.0.0.1', '127.0.0.1', true],
  ['127.0.0.1', '::ffff:127.0.0.1', true],
  ['127.0.0.1', '0.0.0.0', true],
  ['127.0.0.1', '127.0.0.2', false],
  ['127.0.0.1', '::1', false],
  ['127.0.0.1', '192.0.2.2', false],
  ['0.0.0.0', '127.0.0.2', true],
  ['0.0.0.0', '192.0.2.2', true],
  ['0.0.0.0', '::ffff:192.0.2.2', true],
  ['0.0.0.0', '192.0.2.3', false],
  ['0.0.0.0', '::1', false],
  ['0.0.0.0', '2001:db8::2', false],
  ['::', '::1', true],
  ['::', '::', true],
  ['::', '127.0.0.1', true],
  ['::', '2001:db8::2', true],
  ['::', '192.0.2.2', true],
  ['::', '2001:db8::3', false],
  ['::1', '::1', true],
  ['::1', '127.0.0.1', false],
  ['192.0.2.2', '192.0.2.2', true],
  ['192.0.2.2', '127.0.0.1', false],
];

for (const [listener, destination, expected] of REACHES) {
  test(`a listener on ${listener} is ${expected ? '' : 'not '}reached at ${destination}`, () => {
    assert.equal(new ListeningAddresses(listener, 3128, IFACES).reaches(destination, 3128), expected);
  });
}

test('another port never reaches the listener, and asks no DNS', async () => {
  const self = new ListeningAddresses('0.0.0.0', 3128, IFACES);
  assert.equal(self.reaches('127.0.0.1', 3129), false);
  assert.equal(await self.reachedBy('name.that.would.not.resolve.invalid', 3129), undefined);
});

test('names are resolved: localhost reaches a loopback listener; an unresolvable name reaches nothing', async () => {
  const self = new ListeningAddresses('127.0.0.1', 3128, IFACES);
  assert.equal(await self.reachedBy('localhost', 3128), '127.0.0.1');
  assert.equal(await self.reachedBy('LOCALHOST.', 3128), '127.0.0.1');
  assert.equal(await self.reachedBy('no-such-host.invalid', 3128), undefined);
});

// [--allow value, the warning it gets (a fragment), or '' for none]
const ALLOW: ReadonlyArray<[string, string]> = [
  ['0.0.0.0/0', 'admits every IPv4 client'],
  ['::/0', 'admits every IPv6 client'],
  ['::ffff:0:0/96', 'admits every IPv4 client'],
  ['10.0.0.0/8', 'admits clients beyond this machine'],
  ['192.0.2.2', 'admits clients beyond this machine'],
  ['2001:db8::/32', 'admits clients beyond this machine'],
  ['127.0.0.0/7', 'admits clients beyond this machine'],
  ['127.0.0.2', ''],
  ['127.0.0.0/8', ''],
  ['::1', ''],
  ['::ffff:127.0.0.0/104', ''],
  ['::ffff:127.0.0.2', ''],
];

for (const [entry, warning] of ALLOW) {
  test(`--allow ${entry}: ${warning || 'no warning'}`, () => {
    const out = allowWarnings([parseAllowEntry(entry)]);
    if (warning === '') assert.deepEqual(out, []);
    else {
      assert.equal(out.length, 1);
      assert.match(out[0] as string, new RegExp(`^--allow ${entry.replace(/[.]/g, '\\.')} ${warning}`));
    }
  });
}

test('--allow values that are not addresses or ranges are refused', () => {
  for (const bad of ['not-an-ip', '10.0.0.0/33', '10.0.0.0/abc', '127.0.0.2/', '::/129', '10.0.0.0/8/8']) {
    assert.throws(() => parseAllowEntry(bad), /allow: "/, bad);
  }
});
