import { readFileSync } from 'node:fs';
import { parseProxyUrl } from '../config/proxy-url.js';
import { CommandFailure, UsageError } from './errors.js';

/**
 * The proxy and trust options `fetch`, `doctor` and `serve` share, with curl's names and meaning, so
 * the three take the same command line for the same proxy.
 */
export const PROXY_OPTIONS = {
  proxy: { type: 'string', short: 'x' },
  'proxy-cacert': { type: 'string' },
} as const;

export const CA_OPTION = { cacert: { type: 'string' } } as const;

/** How `-x` is named in messages, in place of the library's `options.proxy`. */
export const PROXY_SOURCE = '-x/--proxy';

/**
 * `-x <url>` as routing options: the proxy for every scheme (messages name `-x/--proxy`), `-x ""` no
 * proxy at all (as in curl). A value that does not parse is a usage error naming the option.
 */
export function proxyRouting(value: string | undefined): { proxy?: string; proxySource?: string; noProxy?: string } {
  if (value === undefined) return {};
  if (value === '') return { noProxy: '*' };
  try {
    parseProxyUrl(value, PROXY_SOURCE);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return { proxy: value, proxySource: PROXY_SOURCE };
}

/** A `--cacert`/`--proxy-cacert` file's PEM; one that cannot be read ends the command with `exitCode`. */
export function readCa(path: string, label: string, exitCode: number): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CommandFailure(exitCode, `${label} ${path}: cannot read the CA file (${(error as Error).message})`, { cause: error });
  }
}
