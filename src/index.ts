/**
 * jaato-proxy: enterprise proxy support, Kerberos/SPNEGO included, for every Node.js HTTP client.
 * Layers: config (pure decisions) → auth (tokens, challenges) → transport (sockets, CONNECT, 407) →
 * adapters (one per client family).
 */
export {
  explain,
  getProxyUrl,
  isKerberosProxyEnabled,
  shouldBypassProxy,
  resolveConfig,
  ProxyConfig,
  ExactBypassList,
  NoProxyList,
  parseProxyUrl,
  InvalidOptionError,
  InvalidProxyUrlError,
  InvalidTargetUrlError,
  UnsupportedProxySchemeError,
  type AuthScheme,
  type Env,
  type Explanation,
  type ProxyEndpoint,
  type ProxyOptions,
  type Route,
} from './config/index.js';
export {
  generateSpnegoToken,
  parseChallenges,
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
  loadSecurityProvider,
  NativeSecurityFailure,
  type SecurityProvider,
  type SecurityLibraryInfo,
  type CredentialInfo,
  type Challenge,
  DEFAULT_TOKEN_TIMEOUT,
  type SpnegoOptions,
} from './auth/index.js';
export { ProxyAuthenticationError, ProxyConnectionError, ProxyHeaderTooLargeError, ProxyMutualAuthError, ProxyTimeoutError, ProxyTunnelError, RequestBodyReplayError } from './transport/errors.js';
export { ProxyDispatcher, type FetchDispatcher, type ProxyDispatcherConstructor, type ProxyDispatcherOptions } from './adapters/undici/public-dispatcher.js';
export { createFetch, getDefaultDispatcher, getFetchInit, type ProxiedFetch } from './adapters/fetch.js';
export {
  createAgents,
  getAgent,
  getDefaultAgents,
  ProxyHttpAgent,
  ProxyHttpsAgent,
  type ProxyAgentOptions,
  type ProxyAgents,
} from './adapters/node/agents.js';
export type { ProxyClientOptions } from './adapters/client-options.js';
// createAxios lives at 'jaato-proxy/axios' (its types need axios); the config helper needs nothing.
export { getAxiosConfig, type AxiosProxyConfig } from './adapters/axios-config.js';
export { getGotOptions } from './adapters/got.js';
export { install, installed, uninstall, type Installation, type InstallOptions } from './adapters/global.js';
export { LocalProxyThreadError, type EnvironmentChange } from './adapters/local-proxy-net.js';
export { PacEvaluationError, PacFetchError, type PacFailure } from './pac/errors.js';
export { explainWithPac } from './pac/pac-explain.js';
export type { PacExplanation } from './config/explain.js';
export { JaatoProxyError, unwrapError } from './errors.js';
