import { JaatoProxyError } from '../errors.js';

/** A mistake in the command line: reported on one line, exit code 2. */
export class UsageError extends Error {}

/**
 * A command that failed with an exit code of its own (fetch's curl-compatible codes). The message is
 * the one line for stderr, left out when `quiet` (fetch -s); the error that caused it is `cause`.
 */
export class CommandFailure extends Error {
  readonly exitCode: number;
  readonly quiet: boolean;
  constructor(exitCode: number, message: string, options: { cause?: unknown; quiet?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.exitCode = exitCode;
    this.quiet = options.quiet ?? false;
  }
}

/** Exit codes, as documented in the README (fetch adds curl's: src/cli/fetch/exit-codes.ts). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The one line for an error: a JaatoProxyError with its code, so a user can look it up. */
export function describeError(error: unknown): string {
  return error instanceof JaatoProxyError ? `${error.message} [${error.code}]` : error instanceof Error ? error.message : String(error);
}
