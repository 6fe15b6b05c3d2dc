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
export { generateSpnegoToken, NegotiateContext, spnFor, tokenChannel, type SpnegoOptions } from './spnego.js';
