/** A mistake in the command line: reported on one line, exit code 2. */
export class UsageError extends Error {}

/** Exit codes, as documented in the README. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
