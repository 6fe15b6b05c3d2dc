/** One line of doctor's report, in its own module so the checks and doctor.ts import it from below. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: CheckStatus;
  /** What was found (safe to show: proxies redacted, no token). */
  detail: string;
  /** What to do, on warn or fail. */
  remedy?: string;
}
