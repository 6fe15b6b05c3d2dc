import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';
import { requireTool } from './desktop-session.js';

// WPAD for real, on loopback only: dnsmasq on <base>.77 answers wpad.corp.example.test (and
// wpad.hostile.example.test) with <base>.78, where this file serves /wpad.dat on port 80. Each client
// runs in a mount namespace whose /etc/resolv.conf names that dnsmasq and a search domain, so the
// machine's own resolver and network are never asked. Needs root (unshare --mount, port 80).
// WPAD fixes the ports (80, and 53 for DNS), so a run takes loopback addresses of its own: another
// suite running beside this one (issue 25) took 127.0.0.78:80 first (EADDRINUSE).
const ctx = useLab();
let DNS: string;
let WPAD_HOST: string;
const CHILD = fileURLToPath(new URL('./wpad-child.js', import.meta.url));
let dir: string;
let dnsmasq: ChildProcess;
let server: http.Server;
const pacs = new Map<string, string>();
const served: string[] = [];

before(async () => {
  await requireTool('dnsmasq', ['--version'], 'dnsmasq-base');
  await requireTool('unshare', ['--version'], 'util-linux');
  assert.equal(process.getuid?.(), 0, 'the WPAD test needs root: unshare --mount and port 80 on a loopback address');
  dir = await mkdtemp(join(tmpdir(), 'jaato-wpad-'));
  server = http.createServer((req, res) => {
    served.push(`${req.headers.host}${req.url}`);
    const pac = pacs.get(String(req.headers.host));
    if (req.url !== '/wpad.dat' || pac === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/x-ns-proxy-autoconfig' }).end(pac);
  });
  for (let attempt = 1; ; attempt++) {
    const base = `127.${randomInt(1, 255)}.${randomInt(0, 256)}`;
    [DNS, WPAD_HOST] = [`${base}.77`, `${base}.78`];
    try {
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(80, WPAD_HOST, resolve));
      await portsFree(DNS, 53);
      break;
    } catch (error) {
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw error;
    }
  }
  dnsmasq = spawn('dnsmasq', ['--keep-in-foreground', '--no-resolv', '--no-hosts', `--listen-address=${DNS}`, '--bind-interfaces', '--port=53', '--log-queries', `--log-facility=${join(dir, 'queries.log')}`, '--user=root', '--group=root', '--pid-file=', `--address=/wpad.corp.example.test/${WPAD_HOST}`, `--address=/wpad.hostile.example.test/${WPAD_HOST}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Ready once it answers: poll a name through it to a deadline.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => execFile('dnsmasq', ['--test'], () => resolve(true))).then(() => readFile(join(dir, 'queries.log'), 'utf8').then((t) => t.includes('started'), () => false));
    if (up) break;
    if (Date.now() > deadline) throw new Error('dnsmasq did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
});

/** Resolves once `port` is free on `address` for both TCP and UDP (dnsmasq binds both); rejects with EADDRINUSE otherwise. */
async function portsFree(address: string, port: number): Promise<void> {
  const tcp = net.createServer();
  await new Promise<void>((resolve, reject) => tcp.once('error', reject).listen(port, address, resolve));
  await new Promise<void>((r) => tcp.close(() => r()));
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => udp.once('error', reject).bind(port, address, resolve)).finally(() => udp.close());
}

after(async () => {
  dnsmasq?.kill();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  url: string;
  status?: number;
  via?: string | null;
  error?: string;
  message?: string;
}

/** Runs the child in a mount namespace with a resolv.conf naming our dnsmasq and `search`; its results and its WPAD debug lines. */
async function inNamespace(search: string, env: Record<string, string>, urls: string[]): Promise<{ outcomes: Outcome[]; debug: string; code: number | null }> {
  const resolv = join(dir, `resolv-${search}.conf`);
  await writeFile(resolv, `nameserver ${DNS}\nsearch ${search}\noptions timeout:1 attempts:1\n`);
  const script = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"';
  // krb5 1.18+ qualifies a short host name with the first search domain (qualify_shortname): the lab's
  // proxy is HTTP@localhost, so this machine's Kerberos is told not to, as one whose proxy has a full name needs not.
  const krb5 = join(dir, 'krb5.conf');
  await writeFile(krb5, (await readFile(ctx.lab.env.KRB5_CONFIG as string, 'utf8')).replace('[libdefaults]', '[libdefaults]\n  qualify_shortname = ""'));
  return new Promise((resolve, reject) => {
    const child = execFile(
      'unshare',
      ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', resolv, process.execPath, CHILD, ...urls],
      { env: { PATH: process.env.PATH, ...ctx.lab.env, KRB5_CONFIG: krb5, WPAD_CHILD_ENV: JSON.stringify(env) }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ outcomes: stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Outcome), debug: stderr, code: child.exitCode });
      },
    );
  });
}

async function queries(): Promise<string[]> {
  const log = await readFile(join(dir, 'queries.log'), 'utf8');
  return [...log.matchAll(/query\[\w+\] (\S+) from/g)].map((m) => m[1] as string);
}

test('WPAD set by the OS (KDE ProxyType=3): wpad.corp.example.test found by DNS, its PAC followed to the Negotiate Squid as alice; localhost DIRECT', async () => {
  const lab = ctx.lab;
  const squid = new URL(lab.proxies.negotiate).port;
  pacs.set('wpad.corp.example.test', `function FindProxyForURL(url, host) { return host === 'localhost' ? 'DIRECT' : 'PROXY localhost:${squid}'; }`);
  const kde = join(dir, 'kde');
  await rm(kde, { recursive: true, force: true });
  await mkdir(kde);
  await writeFile(join(kde, 'kioslaverc'), '[Proxy Settings]\nProxyType=3\n');
  const from = await quietLogLength(lab);
  const { outcomes, debug } = await inNamespace('corp.example.test', { XDG_CURRENT_DESKTOP: 'KDE', XDG_CONFIG_HOME: kde }, [`${lab.origins.http.url}/wpad`, `${lab.origins.http.url.replace('127.0.0.1', 'localhost')}/wpad-direct`]);
  assert.match(outcomes[0]?.via ?? '', /squid/, JSON.stringify(outcomes) + debug);
  assert.equal(outcomes[1]?.via, null, 'DIRECT for localhost');
  assert.match(debug, /WPAD: using http:\/\/wpad\.corp\.example\.test\/wpad\.dat/);
  assert.ok(served.includes('wpad.corp.example.test/wpad.dat'));
  const log = await logSince(lab, from, 1);
  assert.deepEqual(log.map((e) => [e.method, e.user]), [['GET', lab.principal]]);
});

test('WPAD devolution (JAATO_WPAD=on) stops at the registrable domain: wpad.example.co.uk is the last asked, never wpad.co.uk or wpad.uk; nothing found: DIRECT', async () => {
  const lab = ctx.lab;
  const before = (await queries()).length;
  const { outcomes, debug } = await inNamespace('a.b.example.co.uk', { JAATO_WPAD: 'on' }, [`${lab.origins.http.url}/devolved`]);
  assert.equal(outcomes[0]?.status, 200, JSON.stringify(outcomes) + debug);
  assert.equal(outcomes[0]?.via, null, 'no WPAD found: DIRECT, as a browser goes');
  const asked = new Set((await queries()).slice(before).map((q) => q.replace(/\.$/, '')));
  for (const name of ['wpad.a.b.example.co.uk', 'wpad.b.example.co.uk', 'wpad.example.co.uk']) assert.ok(asked.has(name), `${name} asked: ${[...asked].join(', ')}`);
  for (const name of ['wpad.co.uk', 'wpad.uk', 'wpad']) assert.ok(!asked.has(name), `${name} never asked`);
  assert.ok([...asked].every((q) => q.startsWith('wpad.') && q.endsWith('example.co.uk')), `only the candidates, no search suffix appended: ${[...asked].join(', ')}`);
});

test('a hostile WPAD PAC is contained as any PAC: no escape from the sandbox, a runaway loop ends in a typed error, the process lives', async () => {
  const lab = ctx.lab;
  pacs.set(
    'wpad.hostile.example.test',
    `function FindProxyForURL(url, host) {
      if (typeof process !== 'undefined') process.exit(9);
      if (typeof require !== 'undefined') require('child_process').execSync('touch /tmp/jaato-wpad-escaped');
      if (host === 'localhost') while (true) {}
      return 'PROXY 127.0.0.1:1';
    }`,
  );
  const { outcomes, code, debug } = await inNamespace('hostile.example.test', { JAATO_WPAD: 'on' }, [`${lab.origins.http.url.replace('127.0.0.1', 'localhost')}/loop`, `${lab.origins.http.url}/after`]);
  assert.equal(code, 0, 'the process was not ended by the PAC');
  await assert.rejects(readFile('/tmp/jaato-wpad-escaped'), 'no command ran on the host');
  assert.equal(outcomes.length, 2, JSON.stringify(outcomes) + debug);
  assert.equal(outcomes[0]?.error, 'ERR_JAATO_PAC_EVALUATION', JSON.stringify(outcomes[0]));
  assert.match(outcomes[0]?.message ?? '', /ran past its \d+ ms limit in FindProxyForURL/);
  assert.ok(outcomes[1]?.error, 'the PAC\'s dead proxy (127.0.0.1:1) fails the request, never a silent DIRECT');
});
