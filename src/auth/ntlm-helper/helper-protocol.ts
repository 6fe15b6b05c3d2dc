/**
 * Samba's `ntlm_auth --helper-protocol=ntlmssp-client-1`, the client side of its line protocol (the
 * helper curl's `--ntlm-wb` drove, and Squid drives server-side). One request line in, one answer line
 * out, each `XX` or `XX <base64>`. Measured against Samba 4.17's ntlm_auth:
 *
 *   → YR                 ← YR <NEGOTIATE>          (no password needed yet)
 *   → TT <CHALLENGE>     ← PW                      (it wants the password: only now)
 *   → PW <base64 pw>     ← OK, then AF <AUTHENTICATE>   (AF: its side is done; older Sambas say KK)
 *   ← BH <text> / NA <NT_STATUS>: a failure (a broken request, no usable credentials).
 *
 * Pure: parsing and redaction only; the process is `ntlm-auth-context.ts`.
 */

/** One answer line, by what it asks of us. */
export type HelperAnswer =
  | { readonly kind: 'token'; readonly verb: 'YR' | 'KK' | 'AF'; readonly token: string }
  | { readonly kind: 'password' }
  | { readonly kind: 'ok' }
  | { readonly kind: 'failure'; readonly verb: 'BH' | 'NA'; readonly text: string }
  | { readonly kind: 'unknown'; readonly line: string };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** One line the helper wrote (without its newline). A token verb without a base64 token is `unknown`. */
export function parseHelperAnswer(line: string): HelperAnswer {
  const text = line.replace(/\r$/, '');
  const verb = text.slice(0, 2);
  const rest = text.length > 2 && text[2] === ' ' ? text.slice(3).trim() : text.length === 2 ? '' : undefined;
  if (rest === undefined) return { kind: 'unknown', line: text };
  switch (verb) {
    case 'YR':
    case 'KK':
    case 'AF':
      return BASE64.test(rest) ? { kind: 'token', verb, token: rest } : { kind: 'unknown', line: text };
    case 'PW':
      return rest === '' ? { kind: 'password' } : { kind: 'unknown', line: text };
    case 'OK':
      return { kind: 'ok' };
    case 'BH':
    case 'NA':
      return { kind: 'failure', verb, text: rest };
    default:
      return { kind: 'unknown', line: text };
  }
}

/** The request lines. The password goes only as the answer to `PW`, base64 (a password may hold any byte but a newline survives base64). */
export const helperRequest = {
  negotiate: (): string => 'YR\n',
  challenge: (token: string): string => `TT ${token}\n`,
  password: (password: string): string => `PW ${Buffer.from(password, 'utf8').toString('base64')}\n`,
};

/** Longest helper text kept for an error: its end, where the reason is. */
const MAX_TEXT = 1_000;

/**
 * The helper's own text (a `BH` line, its stderr) fit for an error: every secret given, raw and in
 * base64, replaced; any run of base64 long enough to be an NTLM message or a key dropped; control
 * characters out; the end kept. ntlm_auth at its default log level prints neither, but a smb.conf may
 * raise it and its debug dumps packets.
 */
export function redactHelperText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of [secret, Buffer.from(secret, 'utf8').toString('base64')]) out = out.split(form).join('****');
  }
  out = out.replace(/[A-Za-z0-9+/]{24,}={0,2}/g, '<base64>');
  // A debug level set high in smb.conf dumps NTLM messages in hex (the NTLMv2 response among them: enough to attack the password offline).
  out = out.replace(/\b(?:[0-9a-fA-F]{2}[ :]{0,3}){8,}/g, '<hex>');
  out = out.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '').replace(/\s*\n\s*/g, ' | ').trim();
  return out.length > MAX_TEXT ? `…${out.slice(-MAX_TEXT)}` : out;
}

/**
 * `DOMAIN\user`, `user@domain` or `user` as ntlm_auth's `--username` and `--domain`: an empty domain
 * (a UPN) is ntlm_auth's "send no domain"; none at all leaves it its own default (winbind's domain or
 * smb.conf's workgroup).
 */
export function helperUser(name: string): { username: string; domain: string | undefined } {
  const slash = name.indexOf('\\');
  if (slash >= 0) return { username: name.slice(slash + 1), domain: name.slice(0, slash) };
  if (name.includes('@')) return { username: name, domain: '' };
  return { username: name, domain: undefined };
}
