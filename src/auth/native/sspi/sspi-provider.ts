import type { CredentialInfo, InitContextOptions, SecurityContext, SecurityLibraryInfo, SecurityProvider } from '../provider.js';
import { callAsync, fileTimeToUnixMs, SECPKG_CRED_ATTR_NAMES, SECPKG_CRED_OUTBOUND, type SspiApi } from './api.js';
import { failure, type SspiFailureFactory } from './failure.js';
import { SspiContext } from './sspi-context.js';
import { SEC_E_OK } from './status.js';

/**
 * Windows' SSPI as a SecurityProvider. Contexts use the package `Negotiate`, which picks Kerberos and
 * falls back to NTLM by itself when Kerberos cannot be used (or `NTLM` when asked), with the
 * logged-on user's credentials unless a principal is named. Credential inquiries ask the `Kerberos`
 * package, the one whose ticket doctor reports on.
 */
export class SspiProvider implements SecurityProvider {
  readonly info: SecurityLibraryInfo;
  readonly #api: SspiApi;
  readonly #fail: SspiFailureFactory;
  readonly #maxTokens = new Map<string, number>();

  constructor(api: SspiApi, library = 'secur32.dll') {
    this.#api = api;
    this.#fail = failure(api);
    this.info = { family: 'sspi', library, version: undefined, api: 'SSPI' };
  }

  initContext(options: InitContextOptions): SecurityContext {
    const packageName = options.mechanism === 'ntlm' ? 'NTLM' : 'Negotiate';
    return new SspiContext(this.#api, options, packageName, (name) => this.#maxToken(name), this.#fail);
  }

  /** The package's largest token (cbMaxToken), asked once per package: the output buffer's size. */
  #maxToken(packageName: string): number {
    const cached = this.#maxTokens.get(packageName);
    if (cached !== undefined) return cached;
    const { koffi, types, QuerySecurityPackageInfoW, FreeContextBuffer } = this.#api;
    const out = [null as unknown];
    const status = QuerySecurityPackageInfoW(packageName, out) as number;
    if (status !== SEC_E_OK || out[0] === null) throw this.#fail('QuerySecurityPackageInfoW', status, 'credentials');
    const info = koffi.decode(out[0], types.SecPkgInfoW) as { cbMaxToken: number };
    FreeContextBuffer(out[0]);
    // Windows says 48000 for Kerberos and Negotiate (12000 before Windows 8, and under Wine).
    const size = Math.max(info.cbMaxToken, 1024);
    this.#maxTokens.set(packageName, size);
    return size;
  }

  async inquireCredential(principal?: string): Promise<CredentialInfo> {
    const api = this.#api;
    const { koffi } = api;
    const credential = { dwLower: 0, dwUpper: 0 };
    const expiry = [0 as number | bigint];
    const status = await callAsync(api.AcquireCredentialsHandleW, principal ?? null, 'Kerberos', SECPKG_CRED_OUTBOUND, null, null, null, null, credential, expiry);
    if (status !== SEC_E_OK) throw this.#fail('AcquireCredentialsHandleW', status, 'credentials');
    const out = koffi.alloc('void *', 1);
    try {
      let name: string | undefined;
      // SecPkgCredentials_NamesW: one pointer to the name, which the package allocates. Wine answers
      // SEC_E_UNSUPPORTED_FUNCTION: the principal is then unknown, not an error.
      if ((api.QueryCredentialsAttributesW(credential, SECPKG_CRED_ATTR_NAMES, out) as number) === SEC_E_OK) {
        const p = koffi.decode(out, 'void *');
        if (p !== null) {
          name = koffi.decode.string16(p) || undefined;
          api.FreeContextBuffer(p);
        }
      }
      const until = fileTimeToUnixMs(expiry[0] ?? 0);
      return { principal: name, lifetimeSeconds: until === undefined ? undefined : Math.max(0, Math.floor((until - Date.now()) / 1000)) };
    } finally {
      koffi.free(out);
      api.FreeCredentialsHandle(credential);
    }
  }
}
