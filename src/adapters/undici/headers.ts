import type { Dispatcher } from 'undici';

type Headers = Dispatcher.DispatchOptions['headers'];

/** Request headers as a flat `[name, value, ...]` list, whatever shape undici was given. */
export function toFlat(headers: Headers): string[] {
  const out: string[] = [];
  if (!headers) return out;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) out.push(String(headers[i]), String(headers[i + 1]));
    return out;
  }
  const entries: Iterable<[string, unknown]> =
    typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function'
      ? (headers as Iterable<[string, unknown]>)
      : Object.entries(headers as Record<string, unknown>);
  for (const [name, value] of entries) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, String(v));
    else out.push(name, String(value));
  }
  return out;
}

/**
 * `headers` with every `name` removed: the same object when it holds no such header and undici would
 * read it as `toFlat` does (a flat list of strings, or a plain object of string values), so the common
 * request is not copied; otherwise a flat copy without it.
 */
export function withoutHeader(headers: Headers, name: string): Headers | string[] {
  if (headers == null) return headers;
  const lower = name.toLowerCase();
  if (Array.isArray(headers)) {
    if (headers.length % 2 !== 0) return replaceHeader(headers, name);
    for (let i = 0; i < headers.length; i += 2) {
      const n: unknown = headers[i];
      if (typeof n !== 'string' || typeof headers[i + 1] !== 'string' || n.toLowerCase() === lower) return replaceHeader(headers, name);
    }
    return headers;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') return replaceHeader(headers, name);
  const record = headers as Record<string, unknown>;
  for (const n in record) {
    if (!Object.hasOwn(record, n)) return replaceHeader(headers, name);
    if (typeof record[n] !== 'string' || n.toLowerCase() === lower) return replaceHeader(headers, name);
  }
  return headers;
}

/**
 * The headers with every `name` removed and, if `value` is given, one `name: value` added. Used to keep
 * `Proxy-Authorization` under this library's control: whatever a caller set is dropped, so the header
 * only ever carries our credential, and only to the proxy.
 */
export function replaceHeader(headers: Headers, name: string, value?: string): string[] {
  const lower = name.toLowerCase();
  const flat = toFlat(headers);
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if ((flat[i] as string).toLowerCase() !== lower) out.push(flat[i] as string, flat[i + 1] as string);
  if (value !== undefined) out.push(name, value);
  return out;
}
