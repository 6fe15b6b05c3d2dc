/**
 * What the system and TLS error codes under an error mean, shared by doctor's remedies and fetch's
 * exit codes so the two never disagree about which failure is which.
 */

export const DNS = /^(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL|EAI_NODATA)$/;
export const REFUSED = /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN|EADDRNOTAVAIL)$/;
/** A handshake that is not TLS's verdict on the peer: the peer does not speak TLS, or an alert. */
export const NOT_TLS = /^(ERR_SSL_\w+|EPROTO)$/;

/**
 * The string codes on the error and each `cause` under it (fetch wraps everything in `TypeError: fetch
 * failed`), and on each of an AggregateError's errors (a connect that tried IPv6 and IPv4).
 */
export function errorCodes(error: unknown): string[] {
  const out: string[] = [];
  for (let e = error, n = 0; e instanceof Error && n < 10; e = e.cause, n++) {
    for (const one of e instanceof AggregateError ? [e, ...(e.errors as unknown[])] : [e]) {
      const code = (one as { code?: unknown } | null)?.code;
      if (typeof code === 'string') out.push(code);
    }
  }
  return out;
}

/**
 * The verdict on a peer's certificate, from OpenSSL's verification results as Node names them and
 * Node's own host-name check: each calls for another remedy (a CA to trust, the name, the clock or
 * a renewal). An ERR_SSL_* code is the handshake's (a peer's alert about ours too), not a verdict.
 */
export type CertificateProblem = 'host mismatch' | 'expired' | 'not yet valid' | 'untrusted';

const PROBLEMS: ReadonlyArray<readonly [CertificateProblem, RegExp]> = [
  ['host mismatch', /^(ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)$/],
  ['expired', /^(CERT_HAS_EXPIRED|CRL_HAS_EXPIRED)$/],
  ['not yet valid', /^(CERT_NOT_YET_VALID|CRL_NOT_YET_VALID)$/],
  ['untrusted', /^(?!ERR_SSL_)(INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED|UNABLE_TO_\w+|\w*CERT\w*)$/],
];

export function certificateProblem(codes: readonly string[]): CertificateProblem | undefined {
  for (const [problem, pattern] of PROBLEMS) if (codes.some((c) => pattern.test(c))) return problem;
  return undefined;
}

/** Who the peer is, as a certificate remedy names it. */
export interface CertificatePeer {
  /** `the proxy's`, `the origin's`. */
  whose: string;
  /** The name the certificate was checked against, and where it is written (`in HTTPS_PROXY`). */
  host: string;
  where: string;
  /** The option that adds a CA for this peer. */
  trust: string;
}

/** What to do about a certificate problem, for the problem seen: a CA only fixes an untrusted one. */
export function certificateRemedy(problem: CertificateProblem, peer: CertificatePeer): string {
  switch (problem) {
    case 'host mismatch':
      return `${peer.whose} certificate is not issued for ${peer.host}: use the name it was issued for ${peer.where}`;
    case 'expired':
      return `${peer.whose} certificate has expired, or this machine's clock is ahead: check the date (\`date\`); if it is right, the certificate must be renewed (no CA option fixes it)`;
    case 'not yet valid':
      return `${peer.whose} certificate is not valid yet: this machine's clock is probably behind; correct it (\`date\`, NTP)`;
    case 'untrusted':
      return `${peer.whose} certificate is not trusted: give its CA with ${peer.trust}, or NODE_EXTRA_CA_CERTS=<file> for every Node program`;
  }
}
