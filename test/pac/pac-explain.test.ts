import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainWithPac } from '../../src/pac/pac-explain.js';
import { runCli } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'jaato-pac-explain-'));
// Removed at the end (issue 25: it was left in the temporary directory after every run).
after(() => rmSync(dir, { recursive: true, force: true }));
const PAC = join(dir, 'corp.pac');
writeFileSync(PAC, `function FindProxyForURL(url, host) {
  if (dnsDomainIs(host, '.corp.example')) return 'PROXY proxy-a.corp.example:8080; PROXY proxy-b.corp.example:3128; DIRECT';
  if (host === 'mixed.example') return 'SOCKS5 s:1080; HTTPS tls-proxy.example';
  if (host === 'broken.example') return 42;
  return 'DIRECT';
}`);

test('explainWithPac: the PAC answer, the order of tries, the first entry as the route with its own SPN', async () => {
  const e = await explainWithPac('https://api.corp.example/v1?key=secret', { JAATO_PAC_URL: PAC, JAATO_KERBEROS_PROXY: 'true' });
  assert.equal(e.route, 'proxy');
  assert.equal(e.proxy, 'http://proxy-a.corp.example:8080/');
  assert.equal(e.spn, 'HTTP@proxy-a.corp.example');
  assert.equal(e.rule, `PAC ${PAC}: "PROXY proxy-a.corp.example:8080" (entry 1 of 3)`);
  assert.deepEqual(e.pac, {
    url: PAC,
    source: 'JAATO_PAC_URL',
    answer: 'PROXY proxy-a.corp.example:8080; PROXY proxy-b.corp.example:3128; DIRECT',
    entries: ['http://proxy-a.corp.example:8080/', 'http://proxy-b.corp.example:3128/', 'DIRECT'],
    skipped: [],
  });
});

test('explainWithPac: the bypass lists decide before the PAC (exact bypass stays exact); a ws:// URL is asked as http://', async () => {
  const env = { JAATO_PAC_URL: PAC, JAATO_NO_PROXY: 'api.corp.example' };
  const bypassed = await explainWithPac('https://api.corp.example/', env);
  assert.equal(bypassed.route, 'direct');
  assert.equal(bypassed.rule, 'JAATO_NO_PROXY entry "api.corp.example"');
  assert.equal(bypassed.pac?.answer, null);
  const sibling = await explainWithPac('https://www.corp.example/', env);
  assert.equal(sibling.route, 'proxy', 'an exact entry does not bypass a sibling');
  const ws = await explainWithPac('ws://chat.corp.example/socket', { JAATO_PAC_URL: PAC });
  assert.equal(ws.proxy, 'http://proxy-a.corp.example:8080/');
});

test('explainWithPac: SOCKS skipped with its reason, an HTTPS entry is TLS to the proxy, the PAC named when it wins over HTTPS_PROXY', async () => {
  const e = await explainWithPac('https://mixed.example/', { JAATO_PAC_URL: PAC, HTTPS_PROXY: 'http://proxy.corp:8080' });
  assert.equal(e.proxy, 'https://tls-proxy.example/');
  assert.deepEqual(e.pac?.skipped, ['"SOCKS5 s:1080": SOCKS proxies are not supported']);
  assert.ok(e.warnings.includes('JAATO_PAC_URL is set, so the PAC chooses the proxy: HTTPS_PROXY is not used'), e.warnings.join('; '));
});

test('explainWithPac: a PAC\'s proxy takes the configuration\'s up-front rule: Basic for its credentials, nothing for a DOMAIN\\user, JAATO_PROXY_AUTH\'s pin kept', async () => {
  const creds = (user: string): Record<string, string> => ({ JAATO_PAC_URL: PAC, HTTPS_PROXY: `http://${user}:pw@proxy-a.corp.example:8080` });
  assert.equal((await explainWithPac('https://api.corp.example/', creds('svc'))).auth, 'basic');
  assert.equal((await explainWithPac('https://api.corp.example/', creds('CORP%5Cbob'))).auth, 'none');
  assert.equal((await explainWithPac('https://api.corp.example/', { ...creds('CORP%5Cbob'), JAATO_PROXY_AUTH: 'basic' })).auth, 'basic');
  assert.equal((await explainWithPac('https://api.corp.example/', { ...creds('svc'), JAATO_PROXY_AUTH: 'ntlm' })).auth, 'none');
  assert.equal((await explainWithPac('https://api.corp.example/', { ...creds('svc'), JAATO_KERBEROS_PROXY: 'true', JAATO_PROXY_AUTH: 'ntlm' })).auth, 'none');
});

test('explainWithPac: a PAC that cannot be loaded or answers garbage is an error route naming the PAC, never direct', async () => {
  const missing = await explainWithPac('https://x/', { JAATO_PAC_URL: join(dir, 'missing.pac') });
  assert.equal(missing.route, 'error');
  assert.equal(missing.error?.code, 'ERR_JAATO_PAC_FETCH');
  const garbage = await explainWithPac('https://broken.example/', { JAATO_PAC_URL: PAC });
  assert.equal(garbage.route, 'error');
  assert.equal(garbage.error?.code, 'ERR_JAATO_PAC_EVALUATION');
  assert.match(garbage.rule, /returned number 42 for broken\.example/);
});

test('explain --pac: the PAC lines, and --json with the pac key', async () => {
  const text = await runCli(['explain', '--pac', PAC, 'https://api.corp.example/'], { PATH: process.env.PATH, NO_COLOR: '1' });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`\\n  pac:     ${PAC.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(options\\.pac\\)\\n  answer:  "PROXY proxy-a\\.corp\\.example:8080; PROXY proxy-b\\.corp\\.example:3128; DIRECT"\\n  tries:   http://proxy-a\\.corp\\.example:8080/, http://proxy-b\\.corp\\.example:3128/, DIRECT\\n`));
  const json = await runCli(['explain', '--json', 'https://broken.example/'], { PATH: process.env.PATH, JAATO_PAC_URL: PAC });
  assert.equal(json.code, 1);
  const e = JSON.parse(json.stdout) as { route: string; pac: { source: string; answer: null } };
  assert.equal(e.route, 'error');
  assert.deepEqual(e.pac, { url: PAC, source: 'JAATO_PAC_URL', answer: null, entries: [], skipped: [] });
});
