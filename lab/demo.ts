import { subscribe } from 'node:diagnostics_channel';
import { startLab, type Lab } from './lab.js';
import { explain } from '../src/config/explain.js';
import { generateSpnegoToken, spnFor } from '../src/auth/spnego.js';
import { createFetch } from '../src/adapters/fetch.js';
import type { EchoReply } from './origin.js';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalProxy, type AccessLogEntry } from '../src/server/local-proxy.js';
import { formatAccessLog } from '../src/cli/commands/serve.js';
import { bold, cyan, dim, green, OK } from '../src/cli/style.js';

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const step = (n: number, title: string): void => out(`\n${bold(`${n}. ${title}`)}`);

/**
 * The README's main job: the embedded lab (MIT KDC + Squid with negotiate_kerberos_auth + origins),
 * and a newcomer's walk through it. Everything it starts is stopped at the end, on error and on Ctrl-C.
 */
export async function runDemo(): Promise<void> {
  out(bold('jaato-proxy demo: a Kerberos-authenticated proxy, end to end, on this machine'));
  out(dim('Starting the lab: MIT KDC, Squid (Negotiate), HTTP and HTTPS origins, all on 127.0.0.1 ...'));
  const started = Date.now();
  const lab = await startLab();
  const stop = (): void => {
    void lab.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    out(`${OK()} lab up in ${Date.now() - started} ms; ${lab.principal} has a ticket from a real kinit`);
    await walkThrough(lab);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await lab.stop();
    out(dim('\nLab stopped and cleaned up.'));
  }
}

async function walkThrough(lab: Lab): Promise<void> {
  Object.assign(process.env, lab.env, {
    HTTPS_PROXY: lab.proxies.negotiate,
    HTTP_PROXY: lab.proxies.negotiate,
    JAATO_KERBEROS_PROXY: 'true',
    JAATO_NO_PROXY: 'localhost',
    NO_PROXY: '.internal.example',
  });
  step(1, 'The configuration (environment variables, as a user would set them)');
  for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'JAATO_KERBEROS_PROXY', 'JAATO_NO_PROXY', 'NO_PROXY']) {
    out(`   ${name}=${process.env[name]}`);
  }

  step(2, 'The route for three URLs (jaato-proxy explain)');
  const origin = lab.origins.https.url;
  for (const url of [`http://localhost:${lab.origins.http.port}/`, 'https://api.internal.example/v1', `${origin}/v1/messages`]) {
    const e = explain(url);
    const how = e.route === 'direct' ? green('direct') : `${cyan('proxy')} ${e.proxy} with ${e.auth}${e.spn ? ` (SPN ${e.spn})` : ''}`;
    out(`   ${url}\n     → ${how}  ${dim(`because ${e.rule}`)}`);
  }

  step(3, 'A real SPNEGO token for the proxy, from the ticket cache (generateSpnegoToken)');
  const proxyHost = new URL(lab.proxies.negotiate).hostname;
  const token = await generateSpnegoToken(proxyHost);
  out(`   ${OK()} ${Buffer.from(token, 'base64').length}-byte SPNEGO token for ${spnFor(proxyHost)} ${dim('(contents never shown or logged)')}`);

  step(4, 'A request through Squid with createFetch(): pre-authenticated, no 407 first');
  let tokens = 0;
  subscribe('jaato-proxy:spnego-token', () => void tokens++);
  const fetch = createFetch({ ca: lab.ca });
  const before = lab.accessLog().length;
  try {
    const res = await fetch(`${origin}/v1/messages`, { method: 'POST', body: '{"hello":"proxy"}', headers: { 'content-type': 'application/json' } });
    const echo = (await res.json()) as EchoReply;
    out(`   ${OK()} ${res.status} from ${origin}: the origin saw ${echo.method} ${echo.url} over TLS=${echo.tls}, ${echo.bodyBytes} body bytes`);
    out(`   ${OK()} Proxy-Authorization at the origin: ${echo.headers['proxy-authorization'] === undefined ? 'none (it went to the proxy only)' : 'PRESENT'}`);
    for (let i = 0; i < 4; i++) await (await fetch(`${origin}/v1/more`)).text();
    const plain = await fetch(`http://127.0.0.1:${lab.origins.http.port}/plain-http`);
    const plainEcho = (await plain.json()) as EchoReply;
    out(`   ${OK()} ${plain.status} for a plain http:// URL, forwarded by Squid (Via: ${plainEcho.headers.via})`);
    const direct = await fetch(`http://localhost:${lab.origins.http.port}/bypassed`);
    const directEcho = (await direct.json()) as EchoReply;
    out(`   ${OK()} ${direct.status} for localhost, direct by JAATO_NO_PROXY (Via: ${directEcho.headers.via ?? 'none'})`);
  } finally {
    await fetch.dispatcher.close();
  }
  out(`   ${OK()} ${tokens} GSSAPI steps for 7 requests: one fresh token per new proxy connection`);
  await new Promise((r) => setTimeout(r, 300)); // Squid logs a CONNECT when its tunnel closes
  out(dim('   Squid access log (method, URL, status, authenticated user):'));
  for (const e of lab.accessLog().slice(before).filter((x) => x.method !== '-')) out(`     ${e.method} ${e.url} ${e.status} ${bold(e.user)}`);

  step(5, 'jaato-proxy serve: curl, with no Kerberos support of its own, through the local proxy');
  const served: AccessLogEntry[] = [];
  const local = await startLocalProxy({ port: 0, log: (e) => void served.push(e) });
  try {
    const ca = join(lab.dir, 'demo-ca.pem');
    writeFileSync(ca, lab.ca);
    out(`   ${dim(`$ jaato-proxy serve   # listening on ${local.url}, upstream ${lab.proxies.negotiate} with Negotiate`)}`);
    out(`   ${dim(`$ curl -x ${local.url} --cacert ca.pem ${origin}/from-curl`)}`);
    const { stdout } = await promisify(execFile)('curl', ['-sS', '-x', local.url, '--cacert', ca, `${origin}/from-curl`], { env: { PATH: process.env.PATH ?? '' } });
    const echo = JSON.parse(stdout) as EchoReply;
    out(`   ${OK()} curl got the origin's answer: ${echo.method} ${echo.url} (user-agent ${echo.headers['user-agent']})`);
    for (const e of served) out(`   ${dim(`serve: ${formatAccessLog(e)}`)}`);
  } finally {
    await local.close();
  }
  await new Promise((r) => setTimeout(r, 300));
  const last = lab.accessLog().filter((x) => x.method === 'CONNECT').at(-1);
  if (last) out(`   ${OK()} Squid: ${last.method} ${last.url} ${last.status} ${bold(last.user)}: curl's request was authenticated with Kerberos`);
}
