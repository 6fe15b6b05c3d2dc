import { NativeSecurityFailure } from '../provider.js';
import { FORMAT_MESSAGE_FROM_SYSTEM, FORMAT_MESSAGE_IGNORE_INSERTS, type SspiApi } from './api.js';
import { classifySspiStatus, sspiStatusHex, sspiStatusName, type SspiPhase } from './status.js';

export type SspiFailureFactory = (call: string, status: number, phase: SspiPhase) => NativeSecurityFailure;

/**
 * The failure's text: the call, the status's name and code, and Windows' own message for it when
 * FormatMessageW has one (Wine has none for SSPI's codes: then the name stands alone).
 */
export function sspiFailureText(call: string, status: number, systemText: string | undefined): string {
  const name = sspiStatusName(status);
  const hex = sspiStatusHex(status);
  const head = name === hex ? `${call} failed with ${hex}` : `${call} failed with ${name} (${hex})`;
  return systemText ? `${head}: ${systemText}` : head;
}

/** Windows' message for a status, trimmed of its trailing line break; undefined when there is none. */
export function formatSystemMessage(api: SspiApi, status: number): string | undefined {
  const format = api.FormatMessageW;
  if (!format) return undefined;
  const chars = 512;
  const out = Buffer.alloc(chars * 2);
  try {
    const n = format(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, null, status >>> 0, 0, out, chars, null) as number;
    if (!n) return undefined;
    const text = out.toString('utf16le', 0, Math.min(n, chars) * 2).replace(/\s+/g, ' ').trim();
    return text || undefined;
  } catch {
    return undefined;
  }
}

/** Builds failures for one binding: classified by status, with the system's text where it has one. */
export function failure(api: SspiApi): SspiFailureFactory {
  return (call, status, phase) =>
    new NativeSecurityFailure(classifySspiStatus(status, phase), call, status >>> 0, 0, sspiFailureText(call, status, formatSystemMessage(api, status)));
}
