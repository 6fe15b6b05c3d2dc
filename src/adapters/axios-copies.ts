import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { debug } from '../debug.js';

/** What the global install and installAxios() change on axios: its defaults, public and documented. */
export interface AxiosDefaultsHolder {
  defaults: { proxy?: unknown; httpAgent?: unknown; httpsAgent?: unknown };
}

/** Where the program's own modules resolve from: its entry script, else the working directory. */
function programBase(): string {
  const entry = process.argv[1];
  return entry ? pathToFileURL(resolve(entry)).href : pathToFileURL(join(process.cwd(), 'noop.js')).href;
}

/** Node's conditions for `import` (RFC-less, Node's resolver): the first key in the order written wins. */
const IMPORT_CONDITIONS = new Set(['node', 'import', 'default']);

/** The ES module entry a package's `exports` gives to `import` (its main target), or undefined. */
export function esmEntry(pkg: { exports?: unknown; module?: unknown; main?: unknown }): string | undefined {
  let target: unknown = pkg.exports;
  if (target && typeof target === 'object' && !Array.isArray(target) && '.' in target) target = (target as Record<string, unknown>)['.'];
  while (target && typeof target === 'object' && !Array.isArray(target)) {
    const key = Object.keys(target).find((k) => IMPORT_CONDITIONS.has(k));
    if (key === undefined) return undefined;
    target = (target as Record<string, unknown>)[key];
  }
  if (typeof target === 'string') return target;
  return typeof pkg.main === 'string' ? pkg.main : undefined;
}

function axiosPackage(): string | undefined {
  try {
    return createRequire(programBase()).resolve('axios/package.json');
  } catch {
    return undefined;
  }
}

/** The CommonJS copy alone (what `--require jaato-proxy/register` can reach: it cannot wait for an import). */
export function programAxiosCommonJs(): AxiosDefaultsHolder[] {
  if (axiosPackage() === undefined) return [];
  try {
    return [createRequire(programBase())('axios') as AxiosDefaultsHolder];
  } catch (error) {
    debug('axios: the CommonJS copy did not load (%s)', (error as Error).message);
    return [];
  }
}

/**
 * The axios copies a program loads when it says `require('axios')` or `import 'axios'` from its entry
 * script: two module instances (axios ships a CommonJS build and an ES module one), each with its own
 * defaults. None when the program has no axios. Loading one is what it costs to set its defaults
 * before the program runs; a copy nested under another package is not found (installAxios(it) then).
 */
export async function programAxiosCopies(): Promise<AxiosDefaultsHolder[]> {
  const copies = programAxiosCommonJs();
  const pkgPath = axiosPackage();
  if (pkgPath === undefined) return copies;
  const entry = esmEntry(JSON.parse(readFileSync(pkgPath, 'utf8')) as Record<string, unknown>);
  if (entry) {
    try {
      const mod = (await import(pathToFileURL(join(dirname(pkgPath), entry)).href)) as { default?: AxiosDefaultsHolder };
      if (mod.default?.defaults && !copies.includes(mod.default)) copies.push(mod.default);
    } catch (error) {
      debug('axios: the ES module copy did not load (%s)', (error as Error).message);
    }
  }
  return copies;
}

/**
 * Sets `proxy: false` on an axios copy's defaults, so axios hands each request to node:http's agents
 * (ours) instead of reading HTTPS_PROXY itself and talking to the proxy without Negotiate. Returns how
 * to put the field back exactly (absent again when it was absent).
 */
export function takeProxyOff(axios: AxiosDefaultsHolder): () => void {
  const { defaults } = axios;
  const had = Object.prototype.hasOwnProperty.call(defaults, 'proxy');
  const before = defaults.proxy;
  defaults.proxy = false;
  return () => {
    if (had) defaults.proxy = before;
    else delete defaults.proxy;
  };
}
