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
