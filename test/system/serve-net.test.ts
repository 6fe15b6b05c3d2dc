import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { install, uninstall } from '../../src/index.js';
import type { EchoReply } from '../../lab/origin.js';
import { curl, exited, SERVE_READY, startCli } from '../cli/helpers.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';
import { kdeSession } from './desktop-session.js';

// serve and the safety net follow the OS's settings as every client does: with no proxy variable, a
// child curl (through the safety net) and a curl sent to `jaato-proxy serve` reach the origin through
// the proxy KDE names, authenticated by Kerberos at the Squid.
const ctx = useLab();
let kde: Awaited<ReturnType<typeof kdeSession>>;
const execFileP = promisify(execFile);

before(async () => {
  kde = await kdeSession('');
});
after(async () => kde?.stop());

const rc = (): string => `[Proxy Settings]\nProxyType=1\nhttpProxy=http://localhost:${new URL(ctx.lab.proxies.negotiate).port}\nhttpsProxy=http://localhost:${new URL(ctx.lab.proxies.negotiate).port}\n`;

test('the safety net starts for the OS\'s proxy and a child curl goes through it to the Negotiate Squid as alice', async () => {
  const lab = ctx.lab;
  await kde.write(rc());
  const keys = ['XDG_CURRENT_DESKTOP', 'XDG_CONFIG_HOME', 'JAATO_KERBEROS_PROXY', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'JAATO_LOCAL_PROXY_URL'];
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) delete process.env[k];
  Object.assign(process.env, kde.env);
  const ca = join(lab.dir, 'ca-system-net.pem');
  writeFileSync(ca, lab.ca);
  try {
    const installation = await install({ localProxy: true, ca: lab.ca });
    assert.ok(installation.localProxy, 'started: the OS names a proxy, though no variable does');
    const from = await quietLogLength(lab);
    const out = await execFileP('curl', ['-sS', '--cacert', ca, `https://localhost:${lab.origins.https.port}/system-net`], { env: process.env });
    assert.equal((JSON.parse(out.stdout) as EchoReply).url, '/system-net');
    const mine = await logSince(lab, from, 1);
    assert.deepEqual(mine.map((e) => [e.method, e.status, e.user]), [['CONNECT', 200, lab.principal]]);
  } finally {
    await uninstall();
    for (const k of keys) if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

test('jaato-proxy serve with no -x and no variable: upstream from KDE (kioslaverc), named at start; a curl through it is authenticated at the Squid', async () => {
  const lab = ctx.lab;
  await kde.write(rc());
  const { child, match, output } = await startCli(['serve', '--port', '0'], { PATH: process.env.PATH, ...lab.env, XDG_RUNTIME_DIR: lab.dir, ...kde.env }, SERVE_READY);
  try {
    assert.match(output(), /upstream: http:\/\/localhost:\d+\/; auth negotiate; from KDE \(kioslaverc\)/);
    const from = await quietLogLength(lab);
    const r = await curl(['-x', match[1] as string, `${lab.origins.http.url}/serve-system`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as EchoReply).url, '/serve-system');
    const mine = await logSince(lab, from, 1);
    assert.deepEqual(mine.map((e) => [e.method, e.status, e.user]), [['GET', 200, lab.principal]]);
  } finally {
    child.kill('SIGTERM');
    await exited(child);
  }
});
