import { channel } from 'node:diagnostics_channel';
import { debuglog, format } from 'node:util';

const log = debuglog('jaato-proxy');

/**
 * Each debug line is also published here as `{ message }`, so tools (the CLI's `fetch -v`) can show the
 * proxy exchange without NODE_DEBUG.
 */
export const debugChannel = channel('jaato-proxy:debug');

/**
 * The library's debug log: `NODE_DEBUG=jaato-proxy`. Lines name proxies redacted and never carry a
 * token or a password: callers pass only safe values. Each line, arguments included, goes through
 * `printable`: text from a PAC or a proxy (an `alert()`, a status line) can neither start a forged line
 * nor send escape sequences to a terminal.
 */
export function debug(message: string, ...args: unknown[]): void {
  const logging = log.enabled;
  if (!logging && !debugChannel.hasSubscribers) return;
  const line = printable(format(message, ...args));
  if (logging) log('%s', line);
  if (debugChannel.hasSubscribers) debugChannel.publish({ message: line });
}

// C0 controls, DEL, C1 controls (ESC's 8-bit twins), the Unicode line and paragraph separators, and
// the bidirectional overrides and isolates that make a terminal show text in another order.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every control character written as an escape (`\n`, `\x1b`, `\u2028`): one line, safe for a terminal. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => NAMED[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16)}`));
}
