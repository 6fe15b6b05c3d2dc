import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EchoReply } from '../../lab/origin.js';
import { freePort } from '../../lab/processes.js';
import { systemSettingsSource } from '../../src/system/system-source.js';
import { CLIENT_FAMILIES, type ClientResponse } from '../conformance/clients.js';
import { logSince, quietLogLength, servePac, useLab } from '../helpers/lab.js';
import { startGnomeSession, type GnomeSession } from './desktop-session.js';

// No proxy variable anywhere: the proxy is in GNOME's settings (a real dconf store in a private D-Bus
// session), and every client family follows them to the lab's Negotiate Squid, authenticated.
const ctx = useLab();
let gnome: GnomeSession;

before(async () => {
  gnome = await startGnomeSession();
});
after(async () => gnome?.stop());

function echo(res: ClientResponse): EchoReply {
  assert.equal(res.status, 200, res.body.toString());
  return JSON.parse(res.body.toString()) as EchoReply;
}

const PROXY = 'org.gnome.system.proxy';
const squidPort = (): string => new URL(ctx.lab.proxies.negotiate).port;
const local = (u: string): string => u.replace('127.0.0.1', 'localhost');

async function gnomeManual(ignore: string): Promise<void> {
  await gnome.set(PROXY, 'mode', 'manual');
  await gnome.set(`${PROXY}.http`, 'host', 'localhost');
  await gnome.set(`${PROXY}.http`, 'port', squidPort());
  await gnome.set(PROXY, 'ignore-hosts', ignore);
  await systemSettingsSource.refreshAll();
}

test('no proxy variable is set, nor JAATO_KERBEROS_PROXY: the lab test runs with none', () => {
  for (const name of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY', 'JAATO_PAC_URL', 'JAATO_KERBEROS_PROXY']) assert.equal(process.env[name], undefined, name);
});

for (const family of CLIENT_FAMILIES) {
  test(`GNOME manual with ${family.name}: http and https through the Negotiate Squid as alice; an ignore-hosts name goes direct`, async () => {
    const lab = ctx.lab;
    await gnomeManual("['localhost', '::1']");
    const from = await quietLogLength(lab);
    const client = family.create({ env: gnome.env, ca: lab.ca });
    try {
      const forwarded = echo(await client.request(`${lab.origins.http.url}/gnome-forwarded`));
      assert.match(String(forwarded.headers.via), /squid/, 'through the Squid GNOME names');
      const tunnelled = echo(await client.request(`${lab.origins.https.url}/gnome-tunnelled`));
      assert.equal(tunnelled.tls, true);
      const direct = echo(await client.request(`${local(lab.origins.http.url)}/gnome-ignored`));
      assert.equal(direct.headers.via, undefined, 'ignore-hosts localhost: direct');
      assert.equal(direct.url, '/gnome-ignored');
    } finally {
      await client.close();
    }
    const log = await logSince(lab, from, 2);
    assert.deepEqual(log.map((e) => [e.method, e.status, e.user]).sort(), [['CONNECT', 200, lab.principal], ['GET', 200, lab.principal]], 'each authenticated by Kerberos; nothing of localhost');
  });
}

test('GNOME auto with an autoconfig-url: the PAC on loopback is fetched and followed, through the Negotiate Squid', async () => {
  const lab = ctx.lab;
  const pac = servePac(lab, `function FindProxyForURL(url, host) { return host === 'localhost' ? 'DIRECT' : 'PROXY localhost:${squidPort()}'; }`);
  await gnome.set(PROXY, 'mode', 'auto');
  await gnome.set(PROXY, 'autoconfig-url', pac);
  await systemSettingsSource.refreshAll();
  const from = await quietLogLength(lab);
  for (const family of CLIENT_FAMILIES.filter((f) => f.name === 'fetch' || f.name.startsWith('node:'))) {
    const client = family.create({ env: gnome.env, ca: lab.ca });
    try {
      assert.match(String(echo(await client.request(`${lab.origins.http.url}/gnome-pac`)).headers.via), /squid/);
      assert.equal(echo(await client.request(`${local(lab.origins.http.url)}/gnome-pac-direct`)).headers.via, undefined);
    } finally {
      await client.close();
    }
  }
  const log = await logSince(lab, from, 2);
  assert.deepEqual(log.map((e) => [e.method, e.user]), [['GET', lab.principal], ['GET', lab.principal]]);
  await gnome.set(PROXY, 'autoconfig-url', '');
});

test('GNOME settings changed while a client lives: the next read (the TTL, here forced) moves it from the proxy to direct', async () => {
  const lab = ctx.lab;
  await gnomeManual('[]');
  const family = CLIENT_FAMILIES.find((f) => f.name.startsWith('node:'));
  assert.ok(family);
  const client = family.create({ env: gnome.env, ca: lab.ca });
  try {
    assert.match(String(echo(await client.request(`${lab.origins.http.url}/before`)).headers.via), /squid/);
    await gnome.set(PROXY, 'mode', 'none');
    await systemSettingsSource.refreshAll();
    assert.equal(echo(await client.request(`${lab.origins.http.url}/after`)).headers.via, undefined, 'mode none: direct');
  } finally {
    await client.close();
  }
});

test('JAATO_SYSTEM_PROXY=off: GNOME is not read; a proxy variable wins over GNOME unless JAATO_SYSTEM_PROXY=on', async () => {
  const lab = ctx.lab;
  await gnomeManual('[]');
  const family = CLIENT_FAMILIES.find((f) => f.name === 'fetch');
  assert.ok(family);
  const off = family.create({ env: { ...gnome.env, JAATO_SYSTEM_PROXY: 'off' }, ca: lab.ca });
  try {
    assert.equal(echo(await off.request(`${lab.origins.http.url}/off`)).headers.via, undefined);
  } finally {
    await off.close();
  }
  // The variable names a port nobody listens on; GNOME names the Negotiate Squid.
  const vars = { ...gnome.env, HTTP_PROXY: `http://127.0.0.1:${await freePort()}` };
  const byVariable = family.create({ env: vars, ca: lab.ca });
  try {
    await assert.rejects(byVariable.request(`${lab.origins.http.url}/variable`), 'the variable\'s (dead) proxy was used, not GNOME\'s');
  } finally {
    await byVariable.close();
  }
  const from = await quietLogLength(lab);
  const on = family.create({ env: { ...vars, JAATO_SYSTEM_PROXY: 'on' }, ca: lab.ca });
  try {
    assert.match(String(echo(await on.request(`${lab.origins.http.url}/system-on`)).headers.via), /squid/);
  } finally {
    await on.close();
  }
  assert.deepEqual((await logSince(lab, from, 1)).map((e) => [e.method, e.user]), [['GET', lab.principal]], 'JAATO_SYSTEM_PROXY=on: GNOME\'s Negotiate Squid');
});
