// doctor with a PAC, against the real lab (MIT KDC, Squid with negotiate_kerberos_auth): the PAC loaded,
// compiled and asked as a request asks it, the entry a request ends on, each proxy it names probed, and
// the URL fetched through the chosen one. The PAC files are served from the lab's http origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../../lab/lab.js';
import { freePort } from '../../lab/processes.js';
import { servePac, useLab } from '../helpers/lab.js';
import { doctorJson, doctorLine as line, failedLines as failed, labEnv, runCli, type DoctorJson } from './helpers.js';

const ctx = useLab();

const squidPort = (lab: Lab): number => Number(new URL(lab.proxies.negotiate).port);

/** `doctor --json`'s `pac` key, as far as these tests read it. */
interface PacJson {
  url: string;
  source: string;
  fetched: boolean;
  bytes: number | null;
  asked: string | null;
  answer: string | null;
  entries: string[];
  skipped: string[];
  chosen: string | null;
}

async function doctor(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; report: DoctorJson; pac: PacJson }> {
  const r = await doctorJson(env, args);
  return { ...r, pac: r.report.pac as PacJson };
}

/** The lab CA in a file, for --cacert (the https origin's certificate). */
function cacert(lab: Lab): string {
  const file = join(lab.dir, 'doctor-pac-ca.pem');
  writeFileSync(file, lab.ca);
  return file;
}

test('doctor --pac: the URL sent to the Negotiate Squid, the answer and the choice shown, fetched with Kerberos; the PAC wins over HTTPS_PROXY', async () => {
  const lab = ctx.lab;
  const body = `function FindProxyForURL(url, host) { return 'PROXY localhost:${squidPort(lab)}; DIRECT'; }`;
  const pac = servePac(lab, body);
  const url = `${lab.origins.http.url}/doctor-pac`;
  // HTTPS_PROXY and HTTP_PROXY point at a dead port: the PAC wins, so they are never tried.
  const dead = `http://localhost:${await freePort()}`;
  const env = labEnv(lab, { HTTPS_PROXY: dead, HTTP_PROXY: dead });
  const text = await runCli(['doctor', '--pac', pac, url], env);
  assert.equal(text.code, 0, text.stdout + text.stderr);
  assert.match(text.stdout, /✓ proxy variables +--pac is set, so the PAC chooses the proxy: HTTPS_PROXY, HTTP_PROXY are not used\n/);
  assert.match(text.stdout, new RegExp(`✓ pac fetch +${pac.replace(/[.]/g, '\\.')} \\(--pac\\): ${body.length} bytes in \\d+ ms, fetched directly, never through a proxy\n`));
  assert.match(text.stdout, /✓ pac answer +FindProxyForURL\("http:\/\/127\.0\.0\.1:\d+\/", "127\.0\.0\.1"\) returned "PROXY localhost:\d+; DIRECT": tries http:\/\/localhost:\d+\/, DIRECT\n/);
  assert.match(text.stdout, /✓ route +proxy http:\/\/localhost:\d+\/ \(PAC .*"PROXY localhost:\d+" \(entry 1 of 2\)\), auth negotiate\n/);
  assert.match(text.stdout, /✓ spn +HTTP@localhost/);
  assert.match(text.stdout, /✓ proxy +http:\/\/localhost:\d+\/ \(PAC entry 1 of 2\) answered 407 Proxy Authentication Required/);
  assert.match(text.stdout, /✓ fetch +200 OK in \d+ ms \(/);

  const { code, report, pac: facts } = await doctor(env, ['--pac', pac, url]);
  assert.equal(code, 0, JSON.stringify(report.checks, null, 1));
  assert.deepEqual(Object.keys(report), ['ok', 'url', 'checks', 'proxies', 'kerberos', 'pac']);
  const port = new URL(lab.origins.http.url).port;
  assert.deepEqual(facts, {
    url: pac,
    source: '--pac',
    fetched: true,
    bytes: body.length,
    asked: `http://127.0.0.1:${port}/`,
    answer: `PROXY localhost:${squidPort(lab)}; DIRECT`,
    entries: [`${lab.proxies.negotiate}/`, 'DIRECT'],
    skipped: [],
    chosen: `${lab.proxies.negotiate}/`,
  });
  assert.equal(report.proxies.length, 1);
  assert.deepEqual(report.proxies[0]?.variables, ['PAC entry 1 of 2']);
  assert.equal(report.proxies[0]?.authMode, 'connection', 'an http: URL: two forwarded HEADs through the PAC proxy, authenticated');
  assert.equal(report.kerberos.spn, 'HTTP@localhost');
  assert.equal(report.kerberos.token, 'made');
});

test('doctor with a PAC whose first proxy is dead: a warning that requests fail over, the Squid chosen; without a URL, example.com asked', async () => {
  const lab = ctx.lab;
  const dead = await freePort();
  const pac = servePac(lab, `function FindProxyForURL(url, host) { return 'PROXY 127.0.0.1:${dead}; PROXY localhost:${squidPort(lab)}'; }`);
  const env = labEnv(lab, { JAATO_PAC_URL: pac });
  const { code, report, pac: pacFacts } = await doctor(env, [`${lab.origins.https.url}/doctor-pac-failover`, '--cacert', cacert(lab)]);
  assert.equal(code, 0, JSON.stringify(report.checks, null, 1));
  assert.equal(pacFacts.source, 'JAATO_PAC_URL');
  assert.deepEqual(pacFacts.entries, [`http://127.0.0.1:${dead}/`, `${lab.proxies.negotiate}/`]);
  assert.equal(pacFacts.chosen, `${lab.proxies.negotiate}/`);
  assert.match(line(report, 'route').detail, /entry 1 cannot be reached, so requests fail over to this one/);
  const deadLine = report.checks.find((c) => c.name === 'proxy' && c.detail.includes(`127.0.0.1:${dead}`));
  assert.equal(deadLine?.status, 'warn', JSON.stringify(report.checks, null, 1));
  assert.match(deadLine?.detail ?? '', /requests fail over to the next entry that can be reached \(entry 2/);
  assert.match(deadLine?.remedy ?? '', /nothing accepts connections at 127\.0\.0\.1:\d+/);
  assert.deepEqual(report.proxies.map((p) => [p.variables, p.reachable]), [[['PAC entry 1 of 2'], false], [['PAC entry 2 of 2'], true]]);
  assert.match(line(report, 'fetch').detail, /^200 OK/);

  // No URL: the PAC is asked about doctor's stand-in, and says so.
  const bare = await runCli(['doctor'], env);
  assert.equal(bare.code, 0, bare.stdout + bare.stderr);
  assert.match(bare.stdout, /✓ proxy variables +JAATO_PAC_URL is set, so the PAC chooses the proxy: .* not used\n/);
  assert.match(bare.stdout, /✓ pac answer +FindProxyForURL\("https:\/\/example\.com\/", "example\.com"\) \(doctor's stand-in: no URL given\) returned /);
  assert.match(bare.stdout, /! proxy +.*127\.0\.0\.1:\d+.*requests fail over/);
  assert.match(bare.stdout, /✓ proxy +http:\/\/localhost:\d+\/ \(PAC entry 2 of 2\) answered 407/);

  // Every entry dead: a failure, no route.
  const gone = servePac(lab, `function FindProxyForURL(url, host) { return 'PROXY 127.0.0.1:${dead}'; }`);
  const none = await doctor(labEnv(lab), ['--pac', gone]);
  assert.equal(none.code, 1);
  assert.match(line(none.report, 'route').detail, /none of the PAC's 1 entries accepts connections/);
  assert.equal(report.checks.filter((c) => c.name === 'proxy' && c.status === 'fail').length, 0);
  assert.equal(none.report.checks.find((c) => c.name === 'proxy')?.status, 'fail');
});

test('doctor with a PAC that cannot be fetched: exit 1, the PAC URL named, fetched directly, no DIRECT claimed', async () => {
  const lab = ctx.lab;
  const missing = `${lab.origins.http.url}/pac/doctor-missing-${process.pid}.pac`;
  lab.origins.http.mount(new URL(missing).pathname, (req, res) => (req.resume(), res.writeHead(404).end()));
  const { code, report, pac } = await doctor(labEnv(lab), ['--pac', missing, `${lab.origins.http.url}/x`]);
  assert.equal(code, 1);
  const fetched = line(report, 'pac fetch');
  assert.equal(fetched.status, 'fail');
  assert.ok(fetched.detail.includes(missing), fetched.detail);
  assert.match(fetched.detail, /the server answered 404 \[ERR_JAATO_PAC_FETCH\]/);
  assert.match(fetched.remedy ?? '', /the PAC server answered 404: check the URL's path/);
  assert.match(fetched.remedy ?? '', /JAATO_PAC_URL \(or --pac\)/);
  assert.match(fetched.remedy ?? '', /fetched directly, never through a proxy/);
  assert.equal(line(report, 'route').status, 'fail');
  assert.doesNotMatch(JSON.stringify(report.checks.filter((c) => c.status !== 'fail')), /direct, because/);
  assert.deepEqual([pac.fetched, pac.bytes, pac.chosen], [false, null, null]);
  assert.deepEqual(failed(report), ['pac fetch', 'route']);
});

test('doctor with a PAC that throws: the answer line fails with the reason', async () => {
  const lab = ctx.lab;
  const pac = servePac(lab, `function FindProxyForURL(url, host) { throw new Error('no rule for ' + host); }`);
  const { code, report } = await doctor(labEnv(lab), ['--pac', pac, 'https://throws.example/']);
  assert.equal(code, 1);
  assert.equal(line(report, 'pac compile').status, 'ok');
  const answer = line(report, 'pac answer');
  assert.equal(answer.status, 'fail');
  assert.match(answer.detail, /threw in FindProxyForURL: Error: no rule for throws\.example .*\[ERR_JAATO_PAC_EVALUATION\]/);
  assert.match(answer.remedy ?? '', /never a silent DIRECT/);
});

test('doctor with a PAC, the host in JAATO_NO_PROXY: the PAC is not asked, the URL fetched directly', async () => {
  const lab = ctx.lab;
  const pac = servePac(lab, `function FindProxyForURL(url, host) { return 'PROXY localhost:${squidPort(lab)}'; }`);
  const { code, report, pac: facts } = await doctor(labEnv(lab, { JAATO_NO_PROXY: '127.0.0.1' }), ['--pac', pac, `${lab.origins.http.url}/bypassed`]);
  assert.equal(code, 0, JSON.stringify(report.checks, null, 1));
  assert.equal(line(report, 'pac fetch').status, 'ok');
  assert.match(line(report, 'pac answer').detail, /^not asked about 127\.0\.0\.1:\d+: JAATO_NO_PROXY entry "127\.0\.0\.1" decides first/);
  assert.match(line(report, 'route').detail, /^direct, because JAATO_NO_PROXY/);
  assert.match(line(report, 'fetch').detail, /^200 OK .*\(direct\)/);
  assert.deepEqual(report.proxies, []);
  assert.deepEqual([facts.answer, facts.chosen], [null, 'DIRECT']);
});
