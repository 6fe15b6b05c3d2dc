import type { Env } from '../config/env.js';
import type { SystemKind, SystemProxySettings } from '../config/system/settings.js';

/** What a reader needs from the machine: a command's output or a file's text. */
export type ReaderInput = { kind: 'run'; file: string; args: readonly string[] } | { kind: 'file'; path: string };

/** The text an input gave, or why there is none (command missing or failed, file absent). */
export type ReaderOutput = { ok: true; text: string } | { ok: false; error: string };

/**
 * One system's reader: the inputs it needs and a pure parse of their outputs. Reading is done by the
 * caller (once synchronously, then in the background), so every parser is a table-tested function and
 * a recorded output (macOS, Windows) goes through exactly the code a live one does.
 */
export interface SystemReader {
  kind: SystemKind;
  inputs(env: Env): ReaderInput[];
  parse(outputs: readonly ReaderOutput[], env: Env): Omit<SystemProxySettings, 'dnsDomain'> & { dnsDomain?: string };
}

/** `host:port` as a URL-ish value; `host` and port 0 (unset) give nothing. */
export function hostPort(host: string | undefined, port: number | string | undefined): string | undefined {
  const h = (host ?? '').trim();
  if (h === '') return undefined;
  const p = Number(port ?? 0);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(h)) return p > 0 ? `${h.replace(/\/+$/, '')}:${p}` : h;
  const bracketed = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
  return p > 0 ? `${bracketed}:${p}` : bracketed;
}
