import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { InvalidOptionError } from '../../config/errors.js';

/** JAATO_NTLM_AUTH's keyword for "no helper: GSSAPI's NTLMSSP in-process, as before". */
export const NTLM_AUTH_OFF = 'off';

/**
 * Which `ntlm_auth` makes NTLM's messages, outside Node's process: JAATO_NTLM_AUTH (a path, or a name
 * looked up on PATH; `off`: none), else `ntlm_auth` on PATH. Undefined: no helper (then GSSAPI's
 * NTLMSSP in-process). Windows has none: SSPI. A JAATO_NTLM_AUTH that names no executable is an
 * InvalidOptionError naming it. Looked up per handshake, so a later install is found (a PATH walk is a
 * few stat calls, next to a process start).
 */
export function findNtlmAuth(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'win32') return undefined;
  const setting = env.JAATO_NTLM_AUTH?.trim();
  if (setting?.toLowerCase() === NTLM_AUTH_OFF) return undefined;
  if (setting) {
    const found = resolveExecutable(setting, env.PATH);
    if (!found) {
      throw new InvalidOptionError('JAATO_NTLM_AUTH', `"${setting}" is not an executable file${isAbsolute(setting) ? '' : ' on PATH'}: name Samba's ntlm_auth (Debian/Ubuntu package winbind), or \`${NTLM_AUTH_OFF}\` for GSSAPI's NTLM mechanism in-process`);
    }
    return found;
  }
  return resolveExecutable('ntlm_auth', env.PATH);
}

function resolveExecutable(name: string, path: string | undefined): string | undefined {
  const candidates = name.includes('/') ? [name] : (path ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  return candidates.find(isExecutableFile);
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Where winbindd's socket is, by the directory libwbclient has built in (Debian, Ubuntu, Fedora:
 * /run/samba/winbindd; older systems /var/run; Homebrew under its prefix). Without it, ntlm_auth's
 * `--use-cached-creds` has nobody to ask, which it would say only after the NEGOTIATE message went out.
 */
const WINBINDD_PIPES = ['/run/samba/winbindd/pipe', '/var/run/samba/winbindd/pipe', '/opt/homebrew/var/run/samba/winbindd/pipe', '/usr/local/var/run/samba/winbindd/pipe'];

/**
 * Whether a winbindd runs here that could hold the logged-on user's cached credentials (single sign-on):
 * its socket in WINBINDD_SOCKET_DIR (libwbclient's override) or one of the built-in directories.
 */
export function winbindRunning(env: NodeJS.ProcessEnv = process.env, pipes: readonly string[] = WINBINDD_PIPES): boolean {
  const dir = env.WINBINDD_SOCKET_DIR?.trim();
  return (dir ? [join(dir, 'pipe'), ...pipes] : pipes).some((p) => existsSync(p));
}
