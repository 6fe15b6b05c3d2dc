import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';
import { NativeSecurityFailure, type SecurityProvider } from '../provider.js';
import { bindSspi } from './api.js';
import { SspiProvider } from './sspi-provider.js';

export { classifySspiStatus, sspiStatusName } from './status.js';
export { SspiProvider } from './sspi-provider.js';

/**
 * Windows' SSPI (secur32.dll) through koffi: the one the caller already loaded, else koffi's CommonJS
 * entry. Throws a `NativeSecurityFailure` of kind `library-missing` when koffi (or its win32 binary)
 * or secur32.dll cannot be loaded.
 */
export function loadSspiProvider(loaded?: typeof Koffi): SecurityProvider {
  let koffi: typeof Koffi;
  try {
    koffi = loaded ?? (createRequire(import.meta.url)('koffi') as typeof Koffi);
  } catch (error) {
    throw new NativeSecurityFailure(
      'library-missing',
      'require',
      0,
      0,
      `koffi could not be loaded (${(error as Error).message}): SSPI is called through it; install the package with its optional dependencies`,
    );
  }
  try {
    return new SspiProvider(bindSspi(koffi));
  } catch (error) {
    throw new NativeSecurityFailure('library-missing', 'LoadLibrary', 0, 0, `secur32.dll could not be loaded: ${(error as Error).message}`);
  }
}
