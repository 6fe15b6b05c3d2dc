// Runs under Node for Windows in Wine (system-proxy.test.ts): the library as a Windows user gets it,
// no proxy variable, the proxy in Internet Settings. Fetches each target and writes what happened,
// with the library's debug lines about the settings and the routes.
import { subscribe } from 'node:diagnostics_channel';
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [configPath, resultPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const debug = [];
subscribe('jaato-proxy:debug', (m) => debug.push(m.message));
const { createFetch } = await import(pathToFileURL(config.index).href);
const fetch = createFetch({});
const results = {};
for (const target of config.targets) {
  try {
    const response = await fetch(target);
    const body = JSON.parse(await response.text());
    results[target] = { status: response.status, via: body.headers.via ?? null };
  } catch (error) {
    results[target] = { error: `${error.name} ${error.code ?? ''}: ${error.message}${error.cause ? ` (cause: ${error.cause.message})` : ''}` };
  }
}
const proxyVariables = Object.keys(process.env).filter((k) => /^(https?|all)_proxy$/i.test(k));
writeFileSync(resultPath, JSON.stringify({ platform: process.platform, proxyVariables, results, debug: debug.filter((l) => /system proxy|via|direct/.test(l)) }));
