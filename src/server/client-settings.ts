import { closeSync, constants, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { InvalidOptionError } from '../config/errors.js';

/**
 * What serve's clients need to use it, as shell lines: the proxy variables with serve's per-run client
 * credential in their userinfo (curl reads only `http_proxy` in lower case for http, most others the
 * upper case, so both), and NO_PROXY for loopback, which serve would only send back to this machine.
 * POSIX `export` lines, or `set` lines for cmd.exe on Windows.
 */
export function clientSettings(url: string, platform: NodeJS.Platform = process.platform): string[] {
  const noProxy = 'localhost,127.0.0.1,::1';
  const values: Array<[string, string]> = [
    ['HTTPS_PROXY', url],
    ['https_proxy', url],
    ['HTTP_PROXY', url],
    ['http_proxy', url],
    ['NO_PROXY', noProxy],
    ['no_proxy', noProxy],
  ];
  // Windows variables are not case-sensitive: one spelling each.
  if (platform === 'win32') return values.filter(([n]) => n === n.toUpperCase()).map(([n, v]) => `set ${n}=${v}`);
  return values.map(([n, v]) => `export ${n}=${v}`);
}

/**
 * The directory for serve's settings files: `$XDG_RUNTIME_DIR/jaato-proxy` (per user, 0700, on tmpfs,
 * gone at logout), else `<tmpdir>/jaato-proxy-<uid>`. Created 0700 if missing; refused when it is a
 * symbolic link, another user's, or open to others (someone else made it first, to read the file).
 */
export function settingsDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  const uid = process.getuid?.();
  const dir = runtime && isAbsolute(runtime) ? join(runtime, 'jaato-proxy') : join(tmpdir(), `jaato-proxy-${uid ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') return dir; // per-user temporary directory; POSIX modes do not apply
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.isSymbolicLink() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new InvalidOptionError('XDG_RUNTIME_DIR', `serve keeps its client credential in ${dir}, which is not a directory of this user's alone (mode 0700): remove it, or set XDG_RUNTIME_DIR to such a directory`);
  }
  return dir;
}

/**
 * Writes `lines` to `serve-<port>.env` in the settings directory, readable by this user only (0600,
 * created anew: never through a link or a file left by someone else). Returns its path and a remover.
 */
export function writeSettingsFile(port: number, lines: readonly string[], env: NodeJS.ProcessEnv = process.env): { path: string; remove(): void } {
  const path = join(settingsDirectory(env), `serve-${port}.env`);
  try {
    unlinkSync(path); // left by a run that was killed
  } catch {
    // none
  }
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    writeSync(fd, `${lines.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
  let removed = false;
  return {
    path,
    remove() {
      if (removed) return;
      removed = true;
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}
