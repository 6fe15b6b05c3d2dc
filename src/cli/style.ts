import type { Env } from '../config/env.js';

/**
 * Whether to colour what goes to `stream`, decided per stream (stdout may be a terminal while stderr
 * is a file, or the reverse):
 *
 * 1. `FORCE_COLOR` set and not empty: `0` or `false` turn colour off, any other value on, terminal or
 *    not. It wins over `NO_COLOR`, as in Node's own `tty` and in chalk.
 * 2. `NO_COLOR` set and not empty: off. An empty `NO_COLOR` counts as unset (https://no-color.org:
 *    "when present and not an empty string").
 * 3. `TERM=dumb`: off.
 * 4. Otherwise colour only on a terminal.
 */
export function useColor(stream: { isTTY?: boolean } = process.stdout, env: Env = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

export interface Palette {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const CODES: Readonly<Record<keyof Palette, string>> = { bold: '1', dim: '2', green: '32', red: '31', yellow: '33', cyan: '36' };

/** The styles for one stream; the decision is made on each call, so a changed environment takes effect. */
export function palette(stream: { isTTY?: boolean }): Palette {
  const paint = (code: string) => (s: string): string => (useColor(stream) ? `\u001b[${code}m${s}\u001b[0m` : s);
  return {
    bold: paint(CODES.bold),
    dim: paint(CODES.dim),
    green: paint(CODES.green),
    red: paint(CODES.red),
    yellow: paint(CODES.yellow),
    cyan: paint(CODES.cyan),
  };
}

/** Styles for stdout, where the commands print for people. */
export const { bold, dim, green, red, yellow, cyan } = palette(process.stdout);
/** Styles for stderr (fetch -v, warnings). */
export const stderrStyle = palette(process.stderr);

export const OK = (): string => green('✓');
export const FAIL = (): string => red('✗');
