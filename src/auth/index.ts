export { basicAuthorization } from './basic.js';
export { offeredSchemes, parseChallenges, type Challenge } from './challenge.js';
export {
  classifyGssError,
  KerberosAddonMissingError,
  KerberosClockSkewError,
  KerberosError,
  KerberosKdcUnreachableError,
  KerberosNoCredentialsError,
  KerberosTicketExpiredError,
  KerberosUnknownSpnError,
} from './errors.js';
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
