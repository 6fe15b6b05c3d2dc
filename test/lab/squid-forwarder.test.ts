import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { ProxyAgent, request } from 'undici';
import { useLab } from '../helpers/lab.js';
import { startSquidForwarder, type SquidForwarder } from '../../lab/squid-forwarder.js';

// The bench's baseline for serve: a second Squid that sends everything to the Kerberos Squid,
// authenticating as the lab user with tokens it makes itself (cache_peer ... login=NEGOTIATE).
const ctx = useLab();
let started: Promise<SquidForwarder> | undefined;
// Started by the first test, once the lab's own before() has run (root hooks of one file do not wait
// for each other on every Node line).
function forwarder(): Promise<SquidForwarder> {
  const { lab } = ctx;
  started ??= lab.clientKeytab().then((clientKeytab) =>
    startSquidForwarder({
      dir: lab.dir,
      name: `fwdtest${process.pid}`,
      peerHost: 'localhost',
      peerPort: Number(new URL(lab.proxies.negotiate).port),
      clientKeytab,
      krb5Conf: lab.env.KRB5_CONFIG!,
    }),
  );
  return started;
}
after(async () => (await started)?.stop());

for (const scheme of ['http', 'https'] as const) {
  test(`the Squid forwarder reaches the ${scheme} origin through the Kerberos Squid as the lab user`, async () => {
    const { lab } = ctx;
    const dispatcher = new ProxyAgent({ uri: (await forwarder()).url, requestTls: { ca: lab.ca }, proxyTunnel: scheme === 'https' });
    const path = `/forwarded-${scheme}`;
    try {
      const res = await request(`${lab.origins[scheme].url}${path}`, { dispatcher });
      await res.body.dump();
      assert.equal(res.statusCode, 200);
    } finally {
      await dispatcher.close();
    }
    // Squid logs a tunnel when it closes, after the client side has gone.
    const port = Number(new URL(lab.proxies.negotiate).port);
    const ours = (): ReturnType<typeof lab.accessLog> =>
      lab.accessLog().filter((e) => e.port === port && (scheme === 'http' ? e.url.endsWith(path) : e.method === 'CONNECT' && e.url === lab.origins.https.url.slice(8)));
    for (let i = 0; i < 100 && ours().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const seen = ours();
    assert.ok(seen.length > 0, `the Kerberos Squid logged no ${scheme} request from the forwarder`);
    assert.ok(seen.every((e) => e.user === lab.principal && e.status === 200), JSON.stringify(seen));
  });
}

// Squid's login=NEGOTIATE keeps the TGT it got from the keytab only while it is renewable (Squid's
// krb5_create_cache asks for a renewable one and starts over when renew_till is near): with a KDC that
// issues none, the forwarder fetched a new TGT and service ticket on every forwarded request.
test('the lab KDC issues a renewable TGT to a client that asks for one (the forwarder keeps its TGT)', async () => {
  const { lab } = ctx;
  const keytab = await lab.clientKeytab();
  const ccache = `FILE:${lab.dir}/renewable-ccache`;
  const env = { ...process.env, ...lab.env, KRB5CCNAME: ccache, LC_ALL: 'C' };
  const run = (cmd: string, args: string[]): Promise<string> =>
    new Promise((resolve, reject) => execFile(cmd, args, { env, timeout: 30_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${cmd}: ${error.message}\n${stderr}`)) : resolve(stdout))));
  await run('kinit', ['-r', '1d', '-k', '-t', keytab, lab.principal]);
  const listed = await run('klist', ['-f', '-c', ccache]);
  // klist: `<valid starting> <expires> krbtgt/...` then `renew until <time>`; with no renewable life
  // the KDC set renew until to the start time, which Squid takes as "renew now".
  const times = /(\S+ \S+)\s+\S+ \S+\s+krbtgt\/[^\n]*\n\s*renew until (\S+ [\d:]+)/.exec(listed);
  assert.ok(times, listed);
  // LC_ALL=C: mm/dd/yy hh:mm:ss
  const at = (t: string): number => {
    const [mo, d, y, h, mi, se] = t.split(/[/ :]/).map(Number) as [number, number, number, number, number, number];
    return Date.UTC(2000 + y, mo - 1, d, h, mi, se);
  };
  const renewable = at(times[2]!) - at(times[1]!);
  // Squid keeps the TGT while renew until is more than twice its clock skew (2 x 300 s) away.
  assert.ok(renewable > 3_600_000, `renewable for ${renewable / 1000} s only:\n${listed}`);
});

// Squid leaves its segments in /dev/shm when SIGKILLed; stop() removes them once Squid has exited. A
// test file's last hook awaits that exit with nothing else pending, so this child does the same: the
// lab stopped first (its origins closed), then the forwarder.
test('stopping the lab and then the forwarder as the last thing a process does leaves nothing in /dev/shm or the temporary directory', async () => {
  const lab = new URL('../../lab/lab.js', import.meta.url).href;
  const fwd = new URL('../../lab/squid-forwarder.js', import.meta.url).href;
  const script = `
    const { startLab } = await import(${JSON.stringify(lab)});
    const { startSquidForwarder } = await import(${JSON.stringify(fwd)});
    const lab = await startLab();
    const name = 'fwdlast' + process.pid;
    const f = await startSquidForwarder({ dir: lab.dir, name, peerHost: 'localhost', peerPort: Number(new URL(lab.proxies.negotiate).port), clientKeytab: await lab.clientKeytab(), krb5Conf: lab.env.KRB5_CONFIG });
    console.log(JSON.stringify({ name, lab: lab.dir.slice(lab.dir.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9]/g, ''), dir: lab.dir }));
    await lab.stop();
    await f.stop();`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout))),
  );
  const { name, lab: labName, dir } = JSON.parse(out) as { name: string; lab: string; dir: string };
  const left = readdirSync('/dev/shm').filter((f) => f.startsWith(`${name}-`) || f.startsWith(`${labName}-`));
  assert.deepEqual(left, [], 'Squid segments left in /dev/shm');
  assert.equal(existsSync(dir), false, `${dir} left behind`);
});
