/**
 * The pure parts of `fetch`'s request: the body curl's data options make, and the request a redirect
 * leads to. No I/O here: files are read through the `read` function the command passes in.
 */

/** One data option as given, in command-line order (curl joins them in that order). */
export interface DataPart {
  kind: 'data' | 'data-raw' | 'data-binary' | 'json';
  value: string;
}

export interface RequestBody {
  body: Buffer;
  /** The content type curl sends with this kind of data, unless a `-H Content-Type` says otherwise. */
  contentType: string;
  /** `--json` also asks for JSON back. */
  accept?: string;
}

export class DataFileError extends Error {
  readonly path: string;
  constructor(option: string, path: string, cause: unknown) {
    super(`${option} @${path}: cannot read the file (${(cause as Error).message})`, { cause });
    this.path = path;
  }
}

/**
 * The body of `-d`/`--data` (`@file`: read, with CR and LF removed, as curl does), `--data-raw` (no
 * `@`), `--data-binary` (`@file` as is) and `--json` (as is, JSON content type and accept). Several
 * form parts are joined with `&`, several `--json` parts concatenated, as curl does. `@-` is stdin.
 * Undefined when no data option was given. Mixing `--json` with form data is a `TypeError` (the
 * caller's usage error): the two content types exclude each other.
 */
export function requestBody(parts: readonly DataPart[], read: (path: string) => Buffer): RequestBody | undefined {
  if (parts.length === 0) return undefined;
  const json = parts.filter((p) => p.kind === 'json');
  if (json.length > 0 && json.length < parts.length) throw new TypeError('--json cannot be combined with -d/--data, --data-raw or --data-binary');
  const load = (p: DataPart): Buffer => {
    if (p.kind === 'data-raw' || !p.value.startsWith('@')) return Buffer.from(p.value);
    const path = p.value.slice(1);
    let content: Buffer;
    try {
      content = read(path);
    } catch (error) {
      throw new DataFileError(p.kind === 'data' ? '-d/--data' : `--${p.kind}`, path, error);
    }
    // curl's -d @file: "carriage returns and newlines will be stripped out".
    return p.kind === 'data' ? Buffer.from(content.filter((b) => b !== 0x0a && b !== 0x0d)) : content;
  };
  if (json.length > 0) return { body: Buffer.concat(json.map(load)), contentType: 'application/json', accept: 'application/json' };
  const loaded = parts.map(load);
  const joined: Buffer[] = [];
  loaded.forEach((b, i) => joined.push(...(i > 0 ? [Buffer.from('&'), b] : [b])));
  return { body: Buffer.concat(joined), contentType: 'application/x-www-form-urlencoded' };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function isRedirect(status: number): boolean {
  return REDIRECTS.has(status);
}

export interface Hop {
  url: URL;
  method: string;
  /** The body goes again (307/308, and 301/302 for anything but POST). */
  keepBody: boolean;
  /** The new URL is on another origin: credentials the user gave for the first must not follow. */
  crossOrigin: boolean;
}

/**
 * The request a redirect leads to, as curl makes it with `-L`: 303 turns anything but HEAD into a
 * GET, 301 and 302 turn a POST into a GET (both without the body); 307 and 308 repeat the request.
 * A method given with `-X` stays on every request, as curl documents (the body still goes only
 * where the method would have stayed). Undefined for a Location that is not a URL.
 */
export function redirectHop(from: URL, status: number, location: string, method: string, customMethod: boolean): Hop | undefined {
  let url: URL;
  try {
    url = new URL(location, from);
  } catch {
    return undefined;
  }
  const toGet = (status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST');
  return {
    url,
    method: toGet && !customMethod ? 'GET' : method,
    keepBody: !toGet,
    crossOrigin: url.origin !== from.origin,
  };
}

/**
 * Headers that carry the user's credentials for one origin: dropped when a redirect leaves it, as
 * curl drops them (CVE-2022-27776) unless told otherwise.
 */
export const CREDENTIAL_HEADERS: readonly string[] = ['authorization', 'cookie'];
