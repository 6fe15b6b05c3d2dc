import type { LibraryHandle } from 'koffi';
import type { CredentialInfo, InitContextOptions, SecurityContext, SecurityLibraryInfo, SecurityProvider } from '../provider.js';
import { failure, nameText, onPool } from './calls.js';
import { declareGssFunctions, type GssFunctions } from './functions.js';
import { GssapiContext, acquireFor } from './gssapi-context.js';
import { gssError } from './status.js';

type Koffi = typeof import('koffi');

const GSS_C_INDEFINITE = 0xffffffff;

/** Which GSSAPI a loaded library is, from symbols only one of them exports. */
function familyOf(lib: LibraryHandle, path: string): SecurityLibraryInfo['family'] {
  if (path.includes('GSS.framework')) return 'apple';
  const has = (symbol: string): boolean => {
    try {
      lib.func(symbol, 'uint32_t', []);
      return true;
    } catch {
      return false;
    }
  };
  if (has('gss_krb5int_make_seal_token_v3')) return 'mit';
  if (has('gss_mg_collect_error')) return 'heimdal';
  return 'mit';
}

const RTLD_NOW = 2;
const RTLD_NODELETE = 0x1000;

/**
 * Keeps the library mapped until the process ends. koffi unloads it when Node tears down, but the
 * pool threads our async calls ran on still hold Heimdal's thread-specific error state, whose
 * destructor then runs from unmapped code (a segfault at every exit, measured with Heimdal 7.8).
 * glibc's RTLD_NODELETE pins it; elsewhere nothing to do (musl never unloads, macOS keeps frameworks).
 */
function pin(koffi: Koffi, library: string): void {
  if (process.platform !== 'linux') return;
  try {
    // eslint-disable-next-line no-restricted-syntax -- koffi.load(null) is dlopen(NULL), the process itself; koffi's types only say string
    const dlopen = koffi.load(null as unknown as string).func('void *dlopen(const char *file, int mode)');
    dlopen(library, RTLD_NOW | RTLD_NODELETE);
  } catch {
    // No dlopen in the main program's scope: exit may crash with Heimdal, the calls themselves are fine.
  }
}

/**
 * Heimdal says its version in `heimdal_version` (a `const char *` in libkrb5.so.26, which its GSSAPI
 * library links); MIT's libraries export no version at all. A data symbol that is not an OID: reading
 * it is the documented way (Heimdal's `krb5_version.h`).
 */
function versionOf(koffi: Koffi, family: SecurityLibraryInfo['family']): string | undefined {
  if (family !== 'heimdal') return undefined;
  try {
    const krb5 = koffi.load('libkrb5.so.26');
    const text = koffi.decode(krb5.symbol('heimdal_version'), 'const char *') as unknown;
    return typeof text === 'string' && text ? text.replace(/^Heimdal\s*/, '') : undefined;
  } catch {
    return undefined;
  }
}

/** The SecurityProvider over a GSSAPI library (MIT, Heimdal, Apple's GSS.framework) loaded through koffi. */
export class GssapiProvider implements SecurityProvider {
  readonly info: SecurityLibraryInfo;
  readonly #fns: GssFunctions;

  private constructor(fns: GssFunctions, info: SecurityLibraryInfo) {
    this.#fns = fns;
    this.info = info;
  }

  /** Loads `library` (a path or soname); throws the loader's error when it is not there. */
  static open(koffi: Koffi, library: string, family?: SecurityLibraryInfo['family'], platform: NodeJS.Platform = process.platform): GssapiProvider {
    const lib = koffi.load(library);
    pin(koffi, library);
    family ??= familyOf(lib, library);
    const fns = declareGssFunctions(koffi, lib, platform);
    return new GssapiProvider(fns, { family, library, version: versionOf(koffi, family), api: 'GSSAPI' });
  }

  initContext(options: InitContextOptions): SecurityContext {
    return new GssapiContext(this.#fns, this.info, options);
  }

  /**
   * The default credential (or `principal`'s): who and for how long. On the pool: with a client keytab
   * (KRB5_CLIENT_KTNAME) MIT gets a ticket from the KDC here.
   */
  async inquireCredential(principal?: string): Promise<CredentialInfo> {
    const fns = this.#fns;
    const cred = principal ? await acquireFor(fns, this.info, principal) : null;
    try {
      const minor = [0];
      const name = [null as unknown];
      const lifetime = [0];
      const major = await onPool(fns.inquireCred, minor, cred, name, lifetime, [0], null);
      if (gssError(major)) throw failure(fns, this.info, 'gss_inquire_cred', major, minor[0] ?? 0);
      try {
        const seconds = lifetime[0] ?? 0;
        return { principal: nameText(fns, name[0]), lifetimeSeconds: seconds === GSS_C_INDEFINITE ? undefined : seconds };
      } finally {
        if (name[0]) fns.releaseName([0], name);
      }
    } finally {
      if (cred) fns.releaseCred([0], [cred]);
    }
  }
}
