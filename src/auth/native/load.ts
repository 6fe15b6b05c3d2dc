import type { Env } from '../../config/env.js';
import { NativeSecurityFailure, type SecurityLibraryInfo, type SecurityProvider } from './provider.js';

/** A library to try, and the family it is when it loads. */
export interface LibraryCandidate {
  readonly library: string;
  readonly family: SecurityLibraryInfo['family'];
}

const MIT: LibraryCandidate = { library: 'libgssapi_krb5.so.2', family: 'mit' };
const HEIMDAL: LibraryCandidate = { library: 'libgssapi.so.3', family: 'heimdal' };
const APPLE: LibraryCandidate = { library: '/System/Library/Frameworks/GSS.framework/GSS', family: 'apple' };
const SSPI: LibraryCandidate = { library: 'secur32.dll', family: 'sspi' };

/** Keywords JAATO_GSSAPI_LIBRARY takes besides a path or soname. */
const KEYWORDS: Readonly<Record<string, LibraryCandidate>> = { mit: MIT, heimdal: HEIMDAL };

/**
 * The libraries to try, in order, for a platform and a JAATO_GSSAPI_LIBRARY value. Pure: Linux (and
 * the other Unixes) MIT's `libgssapi_krb5.so.2`, then Heimdal's `libgssapi.so.3`; macOS Apple's
 * GSS.framework; Windows SSPI. The variable names one instead (`mit`, `heimdal`, a path or soname).
 */
export function libraryCandidates(platform: NodeJS.Platform, setting: string | undefined): LibraryCandidate[] {
  const named = setting?.trim();
  if (named) {
    const keyword = KEYWORDS[named.toLowerCase()];
    if (keyword) return [keyword];
    // SSPI by its DLL's name; anything else is a GSSAPI library (on Windows, MIT Kerberos for Windows'
    // gssapi64.dll), whose family is read from the symbols it exports once loaded.
    return [{ library: named, family: /(^|[\\/])(secur32|sspicli)(\.dll)?$/i.test(named) ? 'sspi' : 'mit' }];
  }
  if (platform === 'win32') return [SSPI];
  if (platform === 'darwin') return [APPLE];
  return [MIT, HEIMDAL];
}

const cache = new Map<string, Promise<SecurityProvider>>();

/**
 * The OS's security library for this process, loaded on first use only (users whose proxies do not
 * want Negotiate never load koffi). Rejects with a `library-missing` NativeSecurityFailure naming
 * JAATO_GSSAPI_LIBRARY and every library tried; a later call tries again (after an install).
 */
export function loadSecurityProvider(options: { env?: Env; platform?: NodeJS.Platform } = {}): Promise<SecurityProvider> {
  const platform = options.platform ?? process.platform;
  const setting = (options.env ?? process.env).JAATO_GSSAPI_LIBRARY;
  const key = `${platform}\u0000${setting ?? ''}`;
  let loading = cache.get(key);
  if (!loading) {
    loading = open(platform, setting).catch((error: unknown) => {
      cache.delete(key);
      throw error;
    });
    cache.set(key, loading);
  }
  return loading;
}

async function open(platform: NodeJS.Platform, setting: string | undefined): Promise<SecurityProvider> {
  const candidates = libraryCandidates(platform, setting);
  let koffi: typeof import('koffi');
  try {
    // koffi is CommonJS: under ESM its namespace has the module as `default` (or, bundled, is the module);
    // its declarations describe only the module, so neither shape can be stated without a cast.
    // eslint-disable-next-line no-restricted-syntax -- see above: koffi's types do not describe its ESM namespace
    const mod = (await import('koffi')) as unknown as { default?: typeof import('koffi') };
    // eslint-disable-next-line no-restricted-syntax -- see above
    koffi = mod.default ?? (mod as unknown as typeof import('koffi'));
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new NativeSecurityFailure('library-missing', 'import koffi', 0, 0, `the "koffi" package (jaato-proxy's FFI dependency) did not load: ${why}`);
  }
  const tried: string[] = [];
  for (const candidate of candidates) {
    try {
      if (candidate.family === 'sspi') {
        // By path, so that this file compiles and loads where the SSPI binding is not built.
        const sspi = (await import(new URL('./sspi/index.js', import.meta.url).href)) as { loadSspiProvider: () => SecurityProvider | Promise<SecurityProvider> };
        return await sspi.loadSspiProvider();
      }
      const { GssapiProvider } = await import('./gssapi/gssapi-provider.js');
      return GssapiProvider.open(koffi, candidate.library, setting?.trim() && !KEYWORDS[setting.trim().toLowerCase()] ? undefined : candidate.family, platform);
    } catch (error) {
      if (error instanceof NativeSecurityFailure) throw error;
      tried.push(`${candidate.library} (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
    }
  }
  const by = setting?.trim() ? `JAATO_GSSAPI_LIBRARY=${setting.trim()}` : 'JAATO_GSSAPI_LIBRARY unset';
  throw new NativeSecurityFailure('library-missing', 'dlopen', 0, 0, `${by}; tried ${tried.join(', ')}`);
}
