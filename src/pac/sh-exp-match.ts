/**
 * `shExpMatch(str, shexp)`: a shell expression where `*` matches any run of characters (none
 * included) and `?` exactly one; every other character, `.` `+` `(` `[` `|` `\` among them, stands for
 * itself. Browsers and pac-resolver build a regular expression from the pattern, escaping only `.`,
 * so a hostile pattern such as `(a+)+` backtracks for minutes in V8, on the main thread, where no PAC
 * time limit reaches; and a legitimate `+` or `[` acts as regex syntax. This matcher builds none. Pure.
 *
 * The pattern is split at its stars: the first piece is anchored at the start, the last at the end,
 * and each middle piece taken at its leftmost fit, which is optimal for `*`-only globs. A piece without
 * `?` is found with `indexOf` (linear); one with `?` by trying each position. `overdue` is asked every
 * so often, so a long match on a huge string stops at the PAC's time limit (it throws).
 */
export function shExpMatch(str: string, shexp: string, overdue: () => boolean = () => false): boolean {
  const firstStar = shexp.indexOf('*');
  if (firstStar < 0) return str.length === shexp.length && fitsAt(str, 0, shexp, 0, shexp.length);
  const lastStar = shexp.lastIndexOf('*');
  const lastLength = shexp.length - lastStar - 1;
  if (str.length < firstStar + lastLength) return false;
  if (!fitsAt(str, 0, shexp, 0, firstStar) || !fitsAt(str, str.length - lastLength, shexp, lastStar + 1, shexp.length)) return false;
  // The middle pieces, walked in place (no array: a pattern of millions of stars costs no memory).
  const budget = { work: 0, overdue };
  const end = str.length - lastLength;
  let from = firstStar;
  for (let p = firstStar + 1; p <= lastStar; ) {
    const q = shexp.indexOf('*', p);
    if (q > p) {
      const at = find(str, shexp, p, q, from, end, budget);
      if (at < 0) return false;
      from = at + (q - p);
    }
    p = q + 1;
  }
  return true;
}

/** Characters compared between two looks at the clock. */
const CHECK_EVERY = 1 << 20;

/** The leftmost start of the piece `shexp[p, q)` in `str[from, end)`, or -1. */
function find(str: string, shexp: string, p: number, q: number, from: number, end: number, budget: { work: number; overdue: () => boolean }): number {
  const length = q - p;
  if (length > end - from) return -1;
  const piece = shexp.slice(p, q);
  if (!piece.includes('?')) {
    const at = str.indexOf(piece, from);
    return at >= 0 && at + length <= end ? at : -1;
  }
  for (let at = from; at + length <= end; at++) {
    if (fitsAt(str, at, piece, 0, length)) return at;
    budget.work += length;
    if (budget.work > CHECK_EVERY) {
      budget.work = 0;
      if (budget.overdue()) throw new Error('interrupted: shExpMatch ran past the time limit');
    }
  }
  return -1;
}

/** `pattern[p, q)` (with `?` for any one character) matches `str` at `at`; the caller has checked the length. */
function fitsAt(str: string, at: number, pattern: string, p: number, q: number): boolean {
  for (let i = p; i < q; i++) {
    const c = pattern.charCodeAt(i);
    if (c !== 63 /* ? */ && c !== str.charCodeAt(at + i - p)) return false;
  }
  return true;
}
