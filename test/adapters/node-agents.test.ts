import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Lab } from '../../src/lab/lab.js';
import type { EchoReply } from '../../src/lab/origin.js';
import {
  createAgents,
  InvalidOptionError,
  InvalidProxyUrlError,
  JaatoProxyError,
  UnsupportedProxySchemeError,
  type ProxyAgents,
} from '../../src/index.js';
import { useLab } from '../helpers/lab.js';
import { CLIENT_FAMILIES, rootCause, type ClientUnderTest } from '../conformance/clients.js';

const ctx = useLab();
const run = promisify(execFile);

let uniq = 0;
const path = (name: string): string => `/${name}-${process.pid}-${++uniq}`;

/** The Basic port's URL with the lab's credentials: a proxy that works without Kerberos. */
function basicProxy(lab: Lab): string {
  const url = new URL(lab.proxies.basic);
  url.username = lab.basic.username;
  url.password = lab.basic.password;
  return url.href.replace(/\/$/, '');
}

type Outcome = { status: number; body: string; req: ClientRequest } | { error: unknown; req: ClientRequest };

/**
 * One request with node:http(s) and an explicit agent, asserting that nothing is thrown out of the
 * request call: whatever goes wrong must come back as the request's 'error' event.
 */
function nodeGet(url: string, agent: http.Agent): Promise<Outcome> {
  let req: ClientRequest | undefined;
  const outcome = new Promise<Outcome>((resolve) => {
    const mod = url.startsWith('https:') ? https : http;
    assert.doesNotThrow(() => {
      req = mod.get(url, { agent }, (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, req: req as ClientRequest }));
      });
    }, 'http.get() must not throw');
    req?.on('error', (error) => resolve({ error, req: req as ClientRequest }));
  });
  return outcome;
}

/** Bad values a user might set at run time, and the typed error each must produce. */
const BAD_VALUES = [
  { value: 'socks5://x:1080', type: UnsupportedProxySchemeError, code: 'ERR_JAATO_UNSUPPORTED_PROXY_SCHEME' },
  { value: 'http://', type: InvalidProxyUrlError, code: 'ERR_JAATO_INVALID_PROXY_URL' },
  // Credentials in a malformed value must not reach the message.
  { value: 'socks5://bob:s3cret-in-url@x:1080', type: UnsupportedProxySchemeError, code: 'ERR_JAATO_UNSUPPORTED_PROXY_SCHEME' },
] as const;

function assertTyped(error: unknown, expected: { type: abstract new (...a: never[]) => JaatoProxyError; code: string }, variable: string): void {
  const ours = rootCause(error);
  assert.ok(ours instanceof expected.type, `${String(error)} → ${String(ours)} is a ${expected.type.name}`);
  assert.equal(ours.code, expected.code);
  assert.ok(ours.message.includes(variable), `the message names ${variable}: ${ours.message}`);
  assert.equal((ours as { variable?: string; option?: string }).variable ?? (ours as { option?: string }).option, variable);
  assert.ok(!ours.message.includes('s3cret-in-url'), 'no password in the message');
}

describe('configuration errors set at run time reach the caller as errors, never as throws', () => {
  for (const scheme of ['http', 'https'] as const) {
    const variable = scheme === 'https' ? 'HTTPS_PROXY' : 'HTTP_PROXY';

    test(`node:${scheme}: a bad ${variable} or JAATO_KERBEROS_SPN after a good request is an 'error' event; fixing it works again`, async () => {
      const lab = ctx.lab;
      const good = basicProxy(lab);
      const env: Record<string, string | undefined> = { HTTP_PROXY: good, HTTPS_PROXY: good };
      const agents: ProxyAgents = createAgents({ env, ca: lab.ca });
      const agent = scheme === 'https' ? agents.https : agents.http;
      const url = (name: string): string => `${lab.origins[scheme].url}${path(name)}`;
      try {
        const first = await nodeGet(url('good'), agent);
        assert.ok('status' in first && first.status === 200, 'the first request works');
        for (const bad of BAD_VALUES) {
          env[variable] = bad.value;
          const outcome = await nodeGet(url('bad'), agent);
          assert.ok('error' in outcome, `${bad.value}: an error, not an answer`);
          assertTyped(outcome.error, bad, variable);
          assert.equal(outcome.req.destroyed, true);
        }
        env[variable] = good;
        env.JAATO_KERBEROS_SPN = 'not a service name';
        const spn = await nodeGet(url('bad-spn'), agent);
        assert.ok('error' in spn);
        assertTyped(spn.error, { type: InvalidOptionError, code: 'ERR_JAATO_INVALID_OPTION' }, 'JAATO_KERBEROS_SPN');
        delete env.JAATO_KERBEROS_SPN;
        const fixed = await nodeGet(url('fixed'), agent);
        assert.ok('status' in fixed, `fixed: ${'error' in fixed ? String(fixed.error) : ''}`);
        assert.equal(fixed.status, 200);
        // Forwarded http carries Squid's Via; a tunnel does not (it is end to end).
        if (scheme === 'http') assert.match(String((JSON.parse(fixed.body) as EchoReply).headers.via), /squid/, 'through the proxy again');
        const seenBad = lab.origins[scheme].seen.filter((s) => /\/bad/.test(s.url));
        assert.deepEqual(seenBad, [], 'no failed request reached the origin');
      } finally {
        agents.http.destroy();
        agents.https.destroy();
      }
    });
  }

  for (const family of CLIENT_FAMILIES.filter((f) => f.name === 'axios' || f.name === 'got')) {
    for (const scheme of ['http', 'https'] as const) {
      const variable = scheme === 'https' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
      test(`${family.name} (${scheme}): a bad ${variable} or JAATO_KERBEROS_SPN rejects with the typed error; fixing it works again`, async () => {
        const lab = ctx.lab;
        const good = basicProxy(lab);
        const env: Record<string, string | undefined> = { HTTP_PROXY: good, HTTPS_PROXY: good };
        const client: ClientUnderTest = family.create({ env, ca: lab.ca });
        const url = (name: string): string => `${lab.origins[scheme].url}${path(name)}`;
        try {
          assert.equal((await client.request(url('good'))).status, 200);
          for (const bad of BAD_VALUES) {
            env[variable] = bad.value;
            await assert.rejects(client.request(url('bad')), (error: unknown) => {
              assertTyped(error, bad, variable);
              return true;
            });
          }
          env[variable] = good;
          env.JAATO_KERBEROS_SPN = 'not a service name';
          await assert.rejects(client.request(url('bad-spn')), (error: unknown) => {
            assertTyped(error, { type: InvalidOptionError, code: 'ERR_JAATO_INVALID_OPTION' }, 'JAATO_KERBEROS_SPN');
            return true;
          });
          delete env.JAATO_KERBEROS_SPN;
          const fixed = await client.request(url('fixed'));
          assert.equal(fixed.status, 200);
          if (scheme === 'http') assert.match(String((JSON.parse(fixed.body.toString()) as EchoReply).headers.via), /squid/);
        } finally {
          await client.close();
        }
      });
    }
  }

  // The report's reproduction: the default agents, process.env changed at run time, a caller that
  // listens for 'error' from inside a timer, where a throw would be uncaught and end the process.
  test('a process whose HTTPS_PROXY/HTTP_PROXY turns bad at run time keeps running and recovers', async () => {
    const lab = ctx.lab;
    const program = join(lab.dir, 'runtime-env.mjs');
    const index = fileURLToPath(new URL('../../src/index.js', import.meta.url));
    writeFileSync(
      program,
      `import http from 'node:http';
import https from 'node:https';
import { getAgent } from ${JSON.stringify(index)};
const [httpUrl, httpsUrl, good] = process.argv.slice(2);
const get = (url) => new Promise((resolve) => setTimeout(() => {
  const mod = url.startsWith('https:') ? https : http;
  mod.get(url, { agent: getAgent(url) }, (res) => { res.resume(); res.on('end', () => resolve('status ' + res.statusCode)); })
    .on('error', (e) => resolve('error ' + e.code + ' ' + e.variable));
}, 5));
const out = [];
for (const [url, variable] of [[httpUrl, 'HTTP_PROXY'], [httpsUrl, 'HTTPS_PROXY']]) {
  out.push(await get(url));
  process.env[variable] = 'socks5://x:1080';
  out.push(await get(url));
  process.env[variable] = good;
  out.push(await get(url));
}
console.log(JSON.stringify(out));
process.exit(0);
`,
    );
    const good = basicProxy(lab);
    const { stdout } = await run(process.execPath, [program, `${lab.origins.http.url}${path('child')}`, `${lab.origins.https.url}${path('child')}`, good], {
      env: { PATH: process.env.PATH, HTTP_PROXY: good, HTTPS_PROXY: good, NODE_EXTRA_CA_CERTS: join(lab.dir, 'ca.pem') },
    });
    assert.deepEqual(JSON.parse(stdout), [
      'status 200',
      'error ERR_JAATO_UNSUPPORTED_PROXY_SCHEME HTTP_PROXY',
      'status 200',
      'status 200',
      'error ERR_JAATO_UNSUPPORTED_PROXY_SCHEME HTTPS_PROXY',
      'status 200',
    ]);
  });
});
