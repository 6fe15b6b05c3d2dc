export { basicAuthorization } from './basic.js';
export { offeredSchemes, parseChallenges, type Challenge } from './challenge.js';
export {
  classifyGssError,
  KerberosAccountDisabledError,
  KerberosAccountExpiredError,
  KerberosClockSkewError,
  KerberosEnctypeError,
  KerberosError,
  KerberosKdcUnreachableError,
  KerberosKeyVersionError,
  KerberosLibraryMissingError,
  KerberosNoCredentialsError,
  KerberosPasswordExpiredError,
  KerberosTicketExpiredError,
  KerberosUnknownSpnError,
} from './errors.js';
export { loadSecurityProvider } from './native/load.js';
export { NativeSecurityFailure, type CredentialInfo, type SecurityLibraryInfo, type SecurityProvider } from './native/provider.js';
export { GssCallLimiter, gssCalls } from './gss-calls.js';
export {
  DEFAULT_TOKEN_TIMEOUT,
  generateSpnegoToken,
  NegotiateContext,
  spnFor,
  tokenChannel,
  type SpnegoOptions,
  type TokenOptions,
} from './spnego.js';
export type { AuthenticatorStep, ProxyAuthenticator } from './authenticator.js';
export { NtlmAuthenticator, ntlmMechanism, type NtlmOptions } from './ntlm.js';
export { classifyNtlmError, NtlmError, NtlmHelperError, NtlmNoCredentialsError, NtlmUnavailableError } from './ntlm-errors.js';
export { chooseProxyScheme, parseProxyAuthSetting, PROXY_AUTH_SETTINGS, type ProxyAuthSetting, type SchemeChoice, type SchemeInputs } from './scheme-choice.js';
export { NegotiateAuthenticator } from './negotiate-authenticator.js';
export { startProxyAuthenticator, type StartAuthenticatorOptions, type StartedAuthenticator } from './choose-authenticator.js';
