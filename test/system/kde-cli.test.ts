import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EchoReply } from '../../lab/origin.js';
import { systemSettingsSource } from '../../src/system/system-source.js';
import { runCli } from '../cli/helpers.js';
import { CLIENT_FAMILIES, type ClientResponse } from '../conformance/clients.js';
import { logSince, quietLogLength, servePac, useLab } from '../helpers/lab.js';
import { kdeSession, startGnomeSession, type GnomeSession } from './desktop-session.js';

// KDE's kioslaverc in a temporary XDG_CONFIG_HOME, through every client family to the Negotiate Squid;
// then explain and doctor, as a user runs them with no proxy variable, naming where the route came from.
const ctx = useLab();
let kde: Awaited<ReturnType<typeof kdeSession>>;
let gnome: GnomeSession;

before(async () => {
  kde = await kdeSession('');
  gnome = await startGnomeSession();
});
after(async () => {
  await kde?.stop();
  await gnome?.stop();
});

function echo(res: ClientResponse): EchoReply {
  assert.equal(res.status, 200, res.body.toString());
  return JSON.parse(res.body.toString()) as EchoReply;
}

const squid = (): string => new URL(ctx.lab.proxies.negotiate).port;

function kioslaverc(extra: string): string {
  return `[General]\nsomething=else\n\n[Proxy Settings]\nProxyType=1\nhttpProxy=http://localhost ${squid()}\nhttpsProxy=http://localhost:${squid()}\n${extra}\n`;
}

for (const family of CLIENT_FAMILIES) {
  test(`KDE manual with ${family.name}: through the Negotiate Squid as alice; NoProxyFor names go direct`, async () => {
    const lab = ctx.lab;
    await kde.write(kioslaverc('NoProxyFor=localhost,.example.invalid\nReversedException=false'));
    await systemSettingsSource.refreshAll();
    const from = await quietLogLength(lab);
    const client = family.create({ env: kde.env, ca: lab.ca });
    try {
      assert.match(String(echo(await client.request(`${lab.origins.http.url}/kde`)).headers.via), /squid/);
      assert.equal(echo(await client.request(`${lab.origins.https.url}/kde-tls`)).tls, true);
      assert.equal(echo(await client.request(`${lab.origins.http.url.replace('127.0.0.1', 'localhost')}/kde-direct`)).headers.via, undefined);
    } finally {
      await client.close();
    }
    const log = await logSince(lab, from, 2);
    assert.deepEqual(log.map((e) => [e.method, e.status, e.user]).sort(), [['CONNECT', 200, lab.principal], ['GET', 200, lab.principal]]);
  });
}

test('KDE ReversedException: only the listed hosts use the proxy', async () => {
  const lab = ctx.lab;
  await kde.write(kioslaverc('NoProxyFor=localhost\nReversedException=true'));
  await systemSettingsSource.refreshAll();
  const family = CLIENT_FAMILIES.find((f) => f.name === 'fetch');
  assert.ok(family);
  const client = family.create({ env: kde.env, ca: lab.ca });
  try {
    assert.equal(echo(await client.request(`${lab.origins.http.url}/not-listed`)).headers.via, undefined, '127.0.0.1 is not listed: direct');
    assert.match(String(echo(await client.request(`${lab.origins.http.url.replace('127.0.0.1', 'localhost')}/listed`)).headers.via), /squid/);
  } finally {
    await client.close();
  }
});

test('explain names the source: KDE (kioslaverc), the bypass entry, GNOME (gsettings org.gnome.system.proxy); JAATO_SYSTEM_PROXY=off names none', async () => {
  const lab = ctx.lab;
  await kde.write(kioslaverc('NoProxyFor=direct.example.invalid'));
  const base = { PATH: process.env.PATH, ...lab.env };
  const kdeJson = JSON.parse((await runCli(['explain', '--json', 'https://api.example.invalid/'], { ...base, ...kde.env })).stdout) as { route: string; rule: string; proxy: string; auth: string };
  assert.deepEqual([kdeJson.route, kdeJson.rule, kdeJson.auth], ['proxy', 'KDE (kioslaverc)', 'negotiate']);
  assert.equal(kdeJson.proxy, `http://localhost:${squid()}/`);
  const bypassed = JSON.parse((await runCli(['explain', '--json', 'https://direct.example.invalid/'], { ...base, ...kde.env })).stdout) as { route: string; rule: string };
  assert.deepEqual([bypassed.route, bypassed.rule], ['direct', 'KDE (kioslaverc) NoProxyFor entry "direct.example.invalid"']);
  await gnome.set('org.gnome.system.proxy', 'mode', 'manual');
  await gnome.set('org.gnome.system.proxy.https', 'host', 'localhost');
  await gnome.set('org.gnome.system.proxy.https', 'port', squid());
  const human = await runCli(['explain', 'https://api.example.invalid/'], { ...base, ...gnome.env });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /rule: +GNOME \(gsettings org\.gnome\.system\.proxy\)/);
  assert.match(human.stdout, /source: +GNOME \(gsettings org\.gnome\.system\.proxy\), mode manual/);
  const off = JSON.parse((await runCli(['explain', '--json', 'https://api.example.invalid/'], { ...base, ...gnome.env, JAATO_SYSTEM_PROXY: 'off' })).stdout) as { route: string; rule: string };
  assert.deepEqual([off.route, off.rule], ['direct', 'no proxy variable is set for https: URLs']);
});

test('doctor names the source and reaches the URL through the proxy the OS names, Kerberos-authenticated', async () => {
  const lab = ctx.lab;
  await kde.write(kioslaverc(''));
  const r = await runCli(['doctor', '--json', `${lab.origins.http.url}/doctor`], { PATH: process.env.PATH, ...lab.env, ...kde.env });
  const report = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ name: string; status: string; detail: string }> };
  const line = (name: string): { status: string; detail: string } | undefined => report.checks.find((c) => c.name === name);
  assert.deepEqual(line('system proxy settings'), { name: 'system proxy settings', status: 'ok', detail: 'KDE (kioslaverc): mode manual', remedy: null });
  assert.match(line('proxy variables')?.detail ?? '', /none set: the OS's settings are the source \(KDE \(kioslaverc\)\)/);
  assert.match(line('route')?.detail ?? '', /proxy http:\/\/localhost:\d+\/ \(KDE \(kioslaverc\)\), auth negotiate/);
  assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => c.status !== 'ok')));
});

test('explain with a PAC the OS names: the PAC is asked, and its source is the OS (KDE (kioslaverc), PAC URL)', async () => {
  const lab = ctx.lab;
  const pac = servePac(lab, `function FindProxyForURL(url, host) { return 'PROXY localhost:${squid()}; DIRECT'; }`);
  await kde.write(`[Proxy Settings]\nProxyType=2\nProxy Config Script=${pac}\n`);
  const r = await runCli(['explain', '--json', 'https://api.example.invalid/'], { PATH: process.env.PATH, ...lab.env, ...kde.env });
  const e = JSON.parse(r.stdout) as { route: string; auth: string; pac: { url: string; source: string; answer: string } };
  assert.deepEqual([e.route, e.auth, e.pac.url, e.pac.source, e.pac.answer], ['proxy', 'negotiate', pac, 'KDE (kioslaverc), PAC URL', `PROXY localhost:${squid()}; DIRECT`]);
});
