import { NativeSecurityFailure, type SecurityLibraryInfo } from '../provider.js';
import type { GssFunctions } from './functions.js';
import { onPoolThread } from '../pool-calls.js';
import { gssFailureKind, KRB5, tidyStatusText } from './status.js';

type Fn = GssFunctions['importName'];

/** Runs a declared function on libuv's pool (koffi's async call) and resolves with its major status. */
export async function onPool(fn: Fn, ...args: unknown[]): Promise<number> {
  return (await onPoolThread(fn, ...args)) >>> 0;
}

/** Copies a library-owned `gss_buffer_desc` out and releases it. */
export function takeBuffer(fns: GssFunctions, buffer: { length?: number | bigint; value?: unknown }): Buffer {
  const length = Number(buffer.length ?? 0);
  // One copy (Buffer.from of a typed array copies): the library's memory is released just below.
  const copy = length > 0 && buffer.value ? Buffer.from(new Uint8Array(fns.koffi.view(buffer.value, length))) : Buffer.alloc(0);
  if (buffer.value) fns.releaseBuffer([0], buffer);
  return copy;
}

/** A name handle as text (`HTTP/host@REALM`, `alice@REALM`). */
export function nameText(fns: GssFunctions, name: unknown): string | undefined {
  const buffer: { length?: number; value?: unknown } = {};
  const major = fns.displayName([0], name, buffer, [null]) as number;
  if (major >>> 16 !== 0) return undefined;
  return takeBuffer(fns, buffer).toString('utf8');
}

const KRB5_NAMES = new Map<number, string>(Object.entries(KRB5).map(([name, code]) => [code, `KRB5${name.startsWith('KDC') || name.startsWith('KRB') ? '' : '_'}${name}`]));

/**
 * The library's texts for a status, tidied (Heimdal's carry a leading space and a trailing period).
 * The minor text comes from the calling thread's error state in both libraries, and our calls ran on
 * a pool thread, so the generic text for the code is what is left: the code's name is added for the
 * krb5 table, and Heimdal's "unknown mech-code" placeholder is dropped.
 */
export function statusText(fns: GssFunctions, major: number, minor: number): string {
  const texts = (value: number, type: 1 | 2): string[] => {
    const out: string[] = [];
    const context = [0];
    for (let i = 0; i < 8; i++) {
      const buffer: { length?: number; value?: unknown } = {};
      const m = fns.displayStatus([0], value, type, null, context, buffer) as number;
      if (m >>> 16 !== 0) break;
      const text = tidyStatusText(takeBuffer(fns, buffer).toString('utf8'));
      // MIT's text for minor 0 is "Success"; Heimdal's for an unknown code a placeholder.
      if (text && !/^unknown mech-code|^Success$/i.test(text)) out.push(text);
      if (context[0] === 0) break;
    }
    return out;
  };
  const parts = texts(major & 0xffff0000, 1);
  if (minor !== 0) {
    const named = KRB5_NAMES.get(minor >>> 0);
    parts.push(...texts(minor, 2).map((t) => (named ? `${t} (${named})` : t)));
    if (parts.length === 1 && named) parts.push(named);
  }
  return parts.join(': ');
}

/** The typed failure of a call, classified by its status codes. */
export function failure(fns: GssFunctions, info: SecurityLibraryInfo, call: string, major: number, minor: number): NativeSecurityFailure {
  return new NativeSecurityFailure(gssFailureKind(major, minor, info.family), call, major, minor, statusText(fns, major, minor));
}
