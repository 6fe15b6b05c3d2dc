// Runs under Node for Windows in Wine (test/wine/sspi.test.ts copies it beside the installed library).
// Uses the built library's SSPI provider, loaded by path, to make Negotiate tokens and send requests
// through the lab's proxies; writes what happened to a JSON file (never a token: lengths and flags only).
//   node.exe sspi-client.mjs <config.json> <result.json>
// config: { library, scenarios: [{ name, kind, ... }] }. Stdout and stderr must be files, not pipes:
// Node for Windows under Wine dies with EBADF on a pipe.
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { pathToFileURL } from 'node:url';

const [configPath, resultPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const { loadSspiProvider } = await import(pathToFileURL(config.library).href);

/** One request through a proxy: absolute-form GET or CONNECT, with a Negotiate token. */
function send(proxy, method, target, token) {
  const u = new URL(proxy);
  return new Promise((resolve, reject) => {
    const headers = { 'Proxy-Authorization': `Negotiate ${token.toString('base64')}` };
    if (method === 'GET') headers.Host = new URL(target).host;
    const req = http.request({ host: u.hostname, port: Number(u.port), method, path: target, headers, agent: false });
    req.setTimeout(15000, () => req.destroy(new Error(`${method} ${target}: no answer in 15 s`)));
    req.on('connect', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode, headers: res.headers });
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The reply token of a `Negotiate <base64>` challenge header, if the answer carries one. */
function replyToken(headers) {
  for (const name of ['proxy-authenticate', 'www-authenticate']) {
    const values = [headers[name] ?? []].flat();
    for (const v of values) {
      const m = /^Negotiate\s+([A-Za-z0-9+/=]+)\s*$/i.exec(v);
      if (m) return Buffer.from(m[1], 'base64');
    }
  }
  return undefined;
}

function describe(error) {
  const d = { name: error?.name, code: error?.code, kind: error?.kind, call: error?.call, major: error?.major, message: String(error?.message ?? error) };
  if (error?.cause) d.cause = describe(error.cause);
  return d;
}

const provider = loadSspiProvider();
// koffi's ESM entry, as the library's loader imports it: beside the CommonJS one in the same process.
const esmProvider = config.scenarios.some((s) => s.koffi === 'esm') ? loadSspiProvider((await import('koffi')).default) : undefined;
const results = { node: process.version, platform: process.platform, arch: process.arch, info: provider.info, scenarios: {} };

for (const s of config.scenarios) {
  const out = {};
  results.scenarios[s.name] = out;
  let context;
  try {
    if (s.kind === 'fetch') {
      // The whole library as a Windows user gets it: createFetch, Negotiate through the proxy, the
      // token from SSPI through the library's own loader.
      const { createFetch } = await import(pathToFileURL(config.index).href);
      const fetch = createFetch({ proxy: s.proxy, kerberos: true, ...(s.ca && { ca: s.ca }), ...(s.requireMutualAuth && { requireMutualAuth: true }) });
      const response = await fetch(s.target);
      out.status = response.status;
      out.body = await response.text();
      continue;
    }
    if (s.kind === 'inquire') {
      Object.assign(out, await provider.inquireCredential(s.principal));
      continue;
    }
    if (s.kind === 'responsive') {
      // The KDC never answers: the step must wait on libuv's pool while this thread keeps running.
      context = provider.initContext({ spn: s.spn, mutual: true });
      let settled = false;
      const outcome = context.step(undefined).then(
        () => (settled = true),
        (error) => {
          settled = true;
          out.error = describe(error);
        },
      );
      let last = performance.now();
      let maxGap = 0;
      let ticks = 0;
      await new Promise((resolve) => {
        const timer = setInterval(() => {
          const now = performance.now();
          maxGap = Math.max(maxGap, now - last);
          last = now;
          if (++ticks >= 40) {
            clearInterval(timer);
            resolve();
          }
        }, 25);
      });
      out.ticks = ticks;
      out.maxGapMs = Math.round(maxGap);
      out.readFile = (await readFile(configPath)).length > 0;
      out.pending = !settled;
      // The test then lets the KDC's connections drop: the step must end, with a typed failure.
      writeFileSync(`${resultPath}.measured`, '');
      await outcome;
      continue;
    }
    context = (s.koffi === 'esm' ? esmProvider : provider).initContext({ spn: s.spn, mutual: true, ...(s.mechanism && { mechanism: s.mechanism }), ...(s.principal && { principal: s.principal }) });
    const first = await context.step(undefined);
    out.tokenLength = first.token?.length ?? 0;
    out.firstComplete = first.complete;
    // 0x60 starts a GSS-API InitialContextToken (SPNEGO on Windows, the bare krb5 mech under Wine).
    out.tokenFirstByte = first.token?.[0];
    if (s.kind === 'token') continue;
    if (s.kind === 'bad-reply') {
      // An AP-REP that is not one: what a proxy without the service key could send back.
      await context.step(Buffer.from('6f0a3008a003020105a10302010f', 'hex'));
      out.complete = true;
      continue;
    }
    const answer = await send(s.proxy, s.method, s.target, first.token);
    out.status = answer.status;
    const reply = replyToken(answer.headers);
    out.replyTokenLength = reply?.length ?? 0;
    if (reply && !first.complete) {
      const second = await context.step(reply);
      out.complete = second.complete;
    }
    out.targetName = await context.targetName();
  } catch (error) {
    out.error = describe(error);
  } finally {
    context?.dispose();
  }
}
writeFileSync(resultPath, JSON.stringify(results, null, 2));
