/**
 * gss-ntlmssp's NTLM_USER_FILE, read for the ntlm_auth helper so a user who set it up for the GSSAPI
 * mechanism keeps working: lines `DOMAIN:user:password` (the domain may be empty), the first one used,
 * as gss-ntlmssp does when no name is asked for. Blank lines and `#` comments are skipped; the password
 * is the rest of the line (it may hold a colon). Pure.
 */
export function firstNtlmUser(text: string): { username: string; password: string } | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const domain = line.slice(0, first).trim();
    const user = line.slice(first + 1, second).trim();
    if (!user) continue;
    return { username: domain ? `${domain}\\${user}` : user, password: line.slice(second + 1) };
  }
  return undefined;
}
