/**
 * jaato-proxy: enterprise proxy support, Kerberos/SPNEGO included, for every Node.js HTTP client.
 * Only what the README and docs/api.md document is exported here; everything else is internal and
 * imported from its own module (the CLI, the tests). Layers: config (pure decisions) → auth (tokens,
 * challenges) → transport (sockets, CONNECT, 407) → adapters (one per client family).
 */
// Clients.
export { createFetch, getFetchInit, type ProxiedFetch } from './adapters/fetch.js';
export { ProxyDispatcher, type ProxyDispatcherOptions } from './adapters/undici/public-dispatcher.js';
export { createAgents, getAgent, type ProxyAgentOptions, type ProxyAgents } from './adapters/node/agents.js';
export type { ProxyClientOptions } from './transport/options.js';
// createAxios lives at 'jaato-proxy/axios' (its types need axios); the config helper needs nothing.
export { getAxiosConfig, type AxiosProxyConfig } from './adapters/axios-config.js';
export { getGotOptions } from './adapters/got.js';
// The whole process.
export { install, installed, uninstall, type Installation, type InstallOptions } from './install/global.js';
export type { EnvironmentChange } from './install/local-proxy-net.js';
// Decisions, as the seed named them.
export { explain, getProxyUrl, isKerberosProxyEnabled, shouldBypassProxy, type Explanation } from './config/index.js';
export { generateSpnegoToken, type SpnegoOptions } from './auth/index.js';
// Errors: the table of codes in the README.
export { JaatoProxyError, unwrapError, type JaatoProxyErrorCode } from './errors.js';
export { InvalidOptionError, InvalidProxyUrlError, InvalidTargetUrlError, UnsupportedProxySchemeError } from './config/index.js';
export {
  KerberosError,
  KerberosAccountDisabledError,
  KerberosAccountExpiredError,
  KerberosClockSkewError,
  KerberosEnctypeError,
  KerberosKdcUnreachableError,
  KerberosKeyVersionError,
  KerberosLibraryMissingError,
  KerberosNoCredentialsError,
  KerberosPasswordExpiredError,
  KerberosTicketExpiredError,
  KerberosUnknownSpnError,
  NtlmError,
  NtlmHelperError,
  NtlmNoCredentialsError,
  NtlmUnavailableError,
} from './auth/index.js';
export { ProxyAuthenticationError, ProxyConnectionError, ProxyHeaderTooLargeError, ProxyMutualAuthError, ProxyTimeoutError, ProxyTunnelError, RequestBodyReplayError } from './transport/errors.js';
export { PacEvaluationError, PacFetchError, type PacFailure } from './pac/errors.js';
export { LocalProxyThreadError } from './install/local-proxy-net.js';
