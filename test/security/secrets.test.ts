// No secret where a caller can print it (issue 24): a marker password in the proxy URL and an unrelated
// API key in the environment are searched for in every object the public API returns or hands a client
// library (util.inspect at default depth and with showHidden, JSON.stringify), in every error a request
// through the real lab's Squid ends in (message, stack, cause, got's and axios's serialized errors), in
// every debug line (NODE_DEBUG=jaato-proxy and the debug channel) and in `explain --json` and
// `doctor --json`. Base64 of the Basic credentials and Negotiate tokens (`YII...`) are searched too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { inspect } from 'node:util';
import { createAgents } from '../../src/adapters/node/agents.js';
import { createFetch, getFetchInit } from '../../src/adapters/fetch.js';
import { ProxyDispatcher } from '../../src/adapters/undici/public-dispatcher.js';
import { createAxios } from '../../src/adapters/axios.js';
import { getAxiosConfig } from '../../src/adapters/axios-config.js';
import { getGotOptions } from '../../src/adapters/got.js';
import { createAzureHttpClient } from '../../src/adapters/azure.js';
import { install, uninstall } from '../../src/install/global.js';
import { explain, parseProxyUrl, resolveConfig } from '../../src/config/index.js';
import { explainWithPac } from '../../src/pac/pac-explain.js';
import { useLab } from '../helpers/lab.js';
import { ROOT, runCli } from '../cli/helpers.js';

const ctx = useLab();
const MARKER = 'secret-MARKER-pw-4Kd';
const API_KEY = 'sk-live-MARKER-api-key-93';

/** The marker strings, and the Basic header values they would travel as. */
function secrets(extra: string[] = []): string[] {
  const basic = (user: string, pw: string): string => Buffer.from(`${user}:${pw}`).toString('base64');
  return [MARKER, API_KEY, basic('bob', MARKER), ...extra];
}

/** Fails naming the secret and where it showed, with some context. */
function assertClean(where: string, text: string, extra: string[] = []): void {
  for (const s of secrets(extra)) {
    const at = text.indexOf(s);
    assert.equal(at, -1, `${where} shows a secret: …${text.slice(Math.max(0, at - 120), at + s.length + 40)}…`);
  }
  const token = /\b(?:Negotiate |Basic )?YII[A-Za-z0-9+/]{16,}/.exec(text);
  assert.equal(token, null, `${where} shows a Negotiate token: ${token?.[0]}`);
}

/** Every way a caller prints an object. */
function everyPrint(value: unknown): string {
  const out = [inspect(value), inspect(value, { depth: 12, showHidden: true, getters: true })];
  try {
    out.push(String(JSON.stringify(value)));
  } catch (error) {
    out.push(`(JSON: ${(error as Error).message})`);
  }
  for (let e = value, n = 0; e instanceof Error && n < 10; e = e.cause, n++) out.push(e.message, String(e.stack));
  return out.join('\n');
}

test('every object the public API returns or hands a client library prints no password and no unrelated secret', async () => {
  const lab = ctx.lab;
  const proxy = new URL(lab.proxies.basic);
  proxy.username = 'bob';
  proxy.password = MARKER;
  const env = { HTTPS_PROXY: proxy.href, HTTP_PROXY: proxy.href, OPENAI_API_KEY: API_KEY, JAATO_KERBEROS_PROXY: 'false' };
  const agents = createAgents({ env });
  const withProxyOption = createAgents({ proxy: proxy.href, proxyTls: { key: API_KEY } });
  const dispatcher = new ProxyDispatcher({ env });
  const azure = createAzureHttpClient({ env });
  const config = resolveConfig({ env });
  const objects: Record<string, unknown> = {
    'createAgents({ env })': agents,
    // Node's http.Agent keeps its options as https.Agent does; @types/node declares only the latter's.
    'agent.options': 'options' in agents.http ? agents.http.options : undefined,
    'createAgents({ proxy, proxyTls })': withProxyOption,
    'createFetch({ env })': createFetch({ env }),
    'new ProxyDispatcher({ env })': dispatcher,
    'getFetchInit({ env })': getFetchInit(undefined, { env }),
    'resolveConfig({ env })': config,
    'ProxyConfig.route()': config.route(new URL('https://origin.example/')),
    'ProxyConfig.proxyFor()': config.proxyFor('https:'),
    'parseProxyUrl()': parseProxyUrl(proxy.href, 'HTTPS_PROXY'),
    'explain()': explain('https://origin.example/', env),
    'explainWithPac()': await explainWithPac('https://origin.example/', env),
    'getGotOptions({ env })': getGotOptions({ env }),
    'getAxiosConfig({ env })': getAxiosConfig(undefined, { env }),
    'createAxios({}, { env }).defaults': createAxios({}, { env }).defaults,
    'createAzureHttpClient({ env })': azure,
  };
  const installation = install({ env });
  try {
    objects['install({ env })'] = installation;
    for (const [name, value] of Object.entries(objects)) assertClean(name, everyPrint(value));
  } finally {
    await uninstall();
    agents.http.destroy();
    agents.https.destroy();
    withProxyOption.http.destroy();
    withProxyOption.https.destroy();
    await dispatcher.close();
  }
});

test('install({ localProxy: true }): the installation shows the local proxy redacted, never its per-process credential', async () => {
  const lab = ctx.lab;
  const proxy = new URL(lab.proxies.basic);
  proxy.username = 'bob';
  proxy.password = MARKER;
  const env = { HTTPS_PROXY: proxy.href, HTTP_PROXY: proxy.href, OPENAI_API_KEY: API_KEY };
  const installation = await install({ env, localProxy: true });
  try {
    const credential = new URL(process.env.HTTPS_PROXY as string).password;
    assert.match(credential, /^[0-9a-f]{32}$/);
    assertClean('install({ localProxy: true })', everyPrint(installation), [credential]);
  } finally {
    await uninstall();
  }
});

/** Runs `script` (ESM, importing the built library) with NODE_DEBUG on; returns stdout + stderr. */
function runScript(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: { PATH: process.env.PATH, NODE_DEBUG: 'jaato-proxy', ...env }, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve(`${stdout}\n${stderr}\n${error ? `exit: ${error.message}` : ''}`),
    );
  });
}

test('requests through the real Squid (Basic right and wrong, Negotiate), each client: no secret in any debug line, channel message or error', async () => {
  const lab = ctx.lab;
  const wrong = new URL(lab.proxies.basic);
  wrong.username = 'bob';
  wrong.password = MARKER;
  const right = new URL(lab.proxies.basic);
  right.username = lab.basic.username;
  right.password = lab.basic.password;
  const script = `
    import { subscribe } from 'node:diagnostics_channel';
    import { inspect } from 'node:util';
    import { get } from 'node:http';
    import got from 'got';
    import { createFetch, createAgents, getGotOptions, install, uninstall } from './dist/index.js';
    import { createAxios } from './dist/adapters/axios.js';
    subscribe('jaato-proxy:debug', (m) => console.log('channel:', JSON.stringify(m)));
    const show = (name, e) => {
      console.log(name, inspect(e, { depth: 12, showHidden: true }));
      try { console.log(name, JSON.stringify(e)); } catch (x) { console.log(name, 'JSON', x.message); }
      for (let c = e, n = 0; c instanceof Error && n < 10; c = c.cause, n++) console.log(name, c.message, c.stack);
    };
    const http = process.env.ORIGIN_HTTP, https = process.env.ORIGIN_HTTPS;
    const envOf = (proxy, kerberos) => ({ HTTPS_PROXY: proxy, HTTP_PROXY: proxy, OPENAI_API_KEY: process.env.OPENAI_API_KEY, JAATO_KERBEROS_PROXY: kerberos });
    for (const [name, proxy, kerberos] of [['wrong', process.env.WRONG, 'false'], ['right', process.env.RIGHT, 'false'], ['negotiate', process.env.NEGOTIATE, 'true']]) {
      const env = envOf(proxy, kerberos);
      for (const url of [http + '/s?token=q', https + '/s?token=q']) {
        try { const r = await createFetch({ env, ca: process.env.CA })(url); console.log(name, 'fetch', r.status, await r.text()); } catch (e) { show(name + ' fetch', e); }
        const agents = createAgents({ env, ca: process.env.CA });
        try { const r = await got(url, { ...getGotOptions({ env, ca: process.env.CA }), retry: { limit: 0 } }); console.log(name, 'got', r.statusCode); } catch (e) { show(name + ' got', e); }
        try { const r = await createAxios({}, { env, ca: process.env.CA }).get(url); console.log(name, 'axios', r.status); } catch (e) { show(name + ' axios', e); }
        agents.http.destroy(); agents.https.destroy();
      }
    }
    const installation = install({ env: envOf(process.env.WRONG, 'false') });
    show('installation', installation);
    await new Promise((resolve) => get(http + '/global', (res) => { console.log('global', res.statusCode); res.resume(); res.on('end', resolve); }).on('error', (e) => { show('global', e); resolve(); }));
    await uninstall();
    console.log('done');
    process.exit(0);
  `;
  const out = await runScript(script, {
    ...lab.env,
    WRONG: wrong.href,
    RIGHT: right.href,
    NEGOTIATE: lab.proxies.negotiate,
    ORIGIN_HTTP: lab.origins.http.url,
    ORIGIN_HTTPS: lab.origins.https.url,
    CA: lab.ca,
    OPENAI_API_KEY: API_KEY,
  });
  // The run reached every case: errors for the wrong password, answers for the right one and Negotiate.
  assert.match(out, /\ndone\n/, out.slice(-2000));
  assert.match(out, /JAATO-PROXY \d+: /, 'NODE_DEBUG lines were written');
  assert.match(out, /channel: \{"message":/, 'channel messages were published');
  assert.match(out, /wrong fetch .*ERR_JAATO_PROXY_AUTH|ProxyAuthenticationError/);
  for (const client of ['fetch', 'got', 'axios']) {
    assert.match(out, new RegExp(`right ${client} 200`), client);
    assert.match(out, new RegExp(`negotiate ${client} 200`), client);
  }
  assertClean('debug output and errors', out, [lab.basic.password, Buffer.from(`${lab.basic.username}:${lab.basic.password}`).toString('base64')]);
  // The library's own lines name a request by origin: never its path or query (got's errors show the
  // caller's URL, which is the caller's to show).
  const ours = out.split('\n').filter((l) => /^JAATO-PROXY \d+: |^channel: /.test(l));
  assert.ok(ours.length > 10, `${ours.length} debug lines`);
  assertClean('debug lines', ours.join('\n'), ['token=q', '/s?']);
});

test('explain --json and doctor --json with a password in the proxy URL and an API key in the environment show neither', async () => {
  const lab = ctx.lab;
  const proxy = new URL(lab.proxies.basic);
  proxy.username = 'bob';
  proxy.password = MARKER;
  const env = { PATH: process.env.PATH, ...lab.env, HTTPS_PROXY: proxy.href, HTTP_PROXY: proxy.href, OPENAI_API_KEY: API_KEY };
  for (const args of [['explain', '--json', 'https://origin.example/'], ['doctor', '--json', `${lab.origins.http.url}/`], ['explain', 'https://origin.example/'], ['doctor', `${lab.origins.http.url}/`]]) {
    const r = await runCli(args, env);
    assert.ok(r.stdout.length > 0, `${args.join(' ')}: no output (${r.stderr})`);
    assertClean(args.join(' '), `${r.stdout}\n${r.stderr}`);
  }
});
