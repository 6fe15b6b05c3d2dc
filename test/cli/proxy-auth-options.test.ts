// curl's proxy-scheme flags on fetch and doctor: --proxy-ntlm, --proxy-anyauth, --proxy-service-name.
// The options they make are a table; the CLI's answer to a wrong combination or name is a usage error (2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain } from '../../src/config/explain.js';
import { routeFromOptions } from '../../src/cli/proxy-options.js';
import { runCli } from './helpers.js';

const ENV = { HTTPS_PROXY: 'http://proxy.corp:8080' };

test('routeFromOptions: the scheme flags as options, and what explain then says', () => {
  const rows: ReadonlyArray<[Parameters<typeof routeFromOptions>[0], Record<string, unknown>, RegExp]> = [
    [{ 'proxy-ntlm': true }, { proxyAuth: 'ntlm' }, /^NTLM \(the platform's credentials.*\) only \(JAATO_PROXY_AUTH=ntlm\)$/],
    [{ 'proxy-ntlm': true, 'proxy-user': 'ADJAATO\\bob:pw' }, { proxyAuth: 'ntlm' }, /^NTLM \(the proxy URL's DOMAIN\\user\) only/],
    [{ 'proxy-anyauth': true }, { proxyAuth: 'any', kerberos: true }, /^the first the proxy offers of: Negotiate \(Kerberos\), then NTLM/],
    [{ 'proxy-negotiate': true }, { kerberos: true }, /^the first the proxy offers of: Negotiate/],
    [{ 'proxy-negotiate': true, 'proxy-service-name': 'HTTP/alias.corp' }, { kerberos: true, spn: 'HTTP/alias.corp' }, /Negotiate/],
  ];
  for (const [values, expected, choice] of rows) {
    const { env, ...options } = routeFromOptions(values, ENV);
    const got: Record<string, unknown> = { ...options };
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(got[k], v, `${JSON.stringify(values)} ${k}`);
    const e = explain('https://x/', env, options);
    assert.match(e.authChoice ?? '', choice, JSON.stringify(values));
    if (values['proxy-service-name']) assert.deepEqual([e.spn, e.spnSource], [process.platform === 'win32' ? 'HTTP/alias.corp' : 'HTTP@alias.corp', 'options.spn']);
    // The password never reaches what explain prints.
    assert.ok(!JSON.stringify(e).includes(':pw@'), JSON.stringify(e));
  }
});

test('fetch and doctor: two scheme flags, or a service name that is not one, are usage errors naming the flags', async () => {
  for (const command of ['fetch', 'doctor']) {
    const both = await runCli([command, '--proxy-ntlm', '--proxy-anyauth', 'https://x/'], { PATH: process.env.PATH, ...ENV });
    assert.deepEqual([both.code, both.stderr], [2, 'jaato-proxy: --proxy-ntlm and --proxy-anyauth choose different schemes: give one\n'], command);
    const bad = await runCli([command, '--proxy-service-name', 'not a name', 'https://x/'], { PATH: process.env.PATH, ...ENV });
    assert.equal(bad.code, 2, command);
    assert.match(bad.stderr, /^jaato-proxy: --proxy-service-name: "not a name" is not a service name: write HTTP\/proxy\.host or HTTP@proxy\.host/, command);
  }
  const help = await runCli(['fetch', '--help']);
  assert.match(help.stdout, /--proxy-ntlm {12}NTLM only, as JAATO_PROXY_AUTH=ntlm/);
  assert.match(help.stdout, /--proxy-anyauth/);
  assert.match(help.stdout, /--proxy-service-name <spn>/);
});
