import { NativeSecurityFailure, type SecurityProvider } from '../provider.js';

/**
 * Placeholder until the SSPI binding lands (branch `wine`, which replaces this file): Windows has no
 * Negotiate token here yet, and says so as a library-missing failure.
 */
export function loadSspiProvider(): SecurityProvider {
  throw new NativeSecurityFailure('library-missing', 'secur32.dll', 0, 0, 'the SSPI binding (secur32.dll) is not part of this build yet');
}
