import { opensslClash } from './native/openssl-clash.js';
import { findNtlmAuth } from './ntlm-helper/find-ntlm-auth.js';

/** Which mechanism makes NTLM's messages here. */
export type NtlmMechanism =
  | { kind: 'ntlm_auth'; binary: string }
  | { kind: 'sspi' }
  | { kind: 'gssapi' }
  | { kind: 'refused'; clash: { node: string; system: string } };

/**
 * The choice itself, from what was found: SSPI on Windows; elsewhere Samba's ntlm_auth out of
 * process where there is one, else GSSAPI's NTLMSSP in-process unless Node's OpenSSL would break it.
 */
export function decideNtlmMechanism(platform: NodeJS.Platform, helper: string | undefined, clash: { node: string; system: string } | undefined): NtlmMechanism {
  if (platform === 'win32') return { kind: 'sspi' };
  if (helper) return { kind: 'ntlm_auth', binary: helper };
  return clash ? { kind: 'refused', clash } : { kind: 'gssapi' };
}

/**
 * The mechanism for this machine: the one choice `NtlmAuthenticator.start()` follows and doctor
 * names. Throws `InvalidOptionError` for a JAATO_NTLM_AUTH that names no executable.
 */
export function ntlmMechanismHere(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): NtlmMechanism {
  if (platform === 'win32') return { kind: 'sspi' };
  const helper = findNtlmAuth(env, platform);
  return decideNtlmMechanism(platform, helper, helper ? undefined : opensslClash());
}

