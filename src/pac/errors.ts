import { JaatoProxyError } from '../errors.js';
import { redactUrl } from '../redact.js';

/** The PAC file could not be read (network, status, size, file system). Names the PAC URL, redacted. */
export class PacFetchError extends JaatoProxyError {
  readonly pacUrl: string;
  constructor(pacUrl: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_JAATO_PAC_FETCH', `could not load the PAC file ${redactUrl(pacUrl)} (JAATO_PAC_URL): ${detail}`, options);
    this.pacUrl = redactUrl(pacUrl);
  }
}

/** Why a PAC could not give an answer. */
export type PacFailure = 'compile' | 'timeout' | 'memory' | 'threw' | 'answer';

/**
 * The PAC did not give a usable answer: it does not compile, ran past its time or memory limit, threw,
 * or returned something that is not a proxy list. Never a silent DIRECT.
 */
export class PacEvaluationError extends JaatoProxyError {
  readonly pacUrl: string;
  readonly failure: PacFailure;
  constructor(pacUrl: string, failure: PacFailure, detail: string, options?: { cause?: unknown }) {
    super('ERR_JAATO_PAC_EVALUATION', `the PAC file ${redactUrl(pacUrl)} (JAATO_PAC_URL) ${detail}`, options);
    this.pacUrl = redactUrl(pacUrl);
    this.failure = failure;
  }
}
