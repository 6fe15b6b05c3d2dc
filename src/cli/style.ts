/** Colour only on a TTY, and never with NO_COLOR (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb';
}

function paint(code: string): (s: string) => string {
  return (s) => (useColor() ? `\u001b[${code}m${s}\u001b[0m` : s);
}

export const bold = paint('1');
export const dim = paint('2');
export const green = paint('32');
export const red = paint('31');
export const yellow = paint('33');
export const cyan = paint('36');

export const OK = (): string => green('✓');
export const FAIL = (): string => red('✗');
