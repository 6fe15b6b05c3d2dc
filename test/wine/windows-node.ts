import { spawn, spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs JavaScript under Node for Windows in Wine, against the Wine prefix, node.exe and Windows-side
 * node_modules that scripts/setup-wine.sh prepared in JAATO_WINE_DIR (default .cache/wine).
 */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const NODE_WIN_VERSION = '22.22.2';
export const WINE_DIR = process.env['JAATO_WINE_DIR'] ?? join(ROOT, '.cache', 'wine');
export const APP = join(WINE_DIR, 'app');
const NODE_EXE = join(WINE_DIR, `node-${NODE_WIN_VERSION}`, 'node.exe');
const PREFIX = join(WINE_DIR, 'prefix');

/**
 * An empty GSSAPI mechanism list for Wine's Kerberos, which runs the host's MIT library: a host plugin
 * (Debian's gss-ntlmssp in /etc/gss/mech.d) would otherwise join the union credential Wine acquires
 * for a named principal with no ticket, and Wine then makes a Kerberos token from the default ticket,
 * another user's (measured: 714 bytes for a principal without one). Windows' SSPI has no such plugins.
 */
function noMechPlugins(): string {
  const path = join(WINE_DIR, 'gss-mech-none.conf');
  if (!existsSync(path)) writeFileSync(path, '# no GSSAPI mechanism plugins for the Wine tests (windows-node.ts)\n');
  return path;
}

/** The environment every Wine process of the harness gets: our prefix, quiet, no Mono/Gecko download. */
export function wineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WINEPREFIX: PREFIX, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', GSS_MECH_CONFIG: noMechPlugins(), ...extra };
  delete env['DISPLAY'];
  return env;
}

/** Throws, naming the Debian packages or the setup step, when the harness is not there. No skip. */
export function checkWineHarness(): void {
  const missing: string[] = [];
  for (const [path, pkg] of [
    ['/usr/bin/wine', 'wine'],
    ['/usr/lib/wine/wine64', 'wine64'],
    ['/usr/bin/wineserver', 'wine'],
  ] as const) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      if (!missing.includes(pkg)) missing.push(pkg);
    }
  }
  if (missing.length > 0) {
    throw new Error(`The Windows (SSPI) tests run Node for Windows under Wine, and these Debian packages are missing: ${missing.join(' ')}. Run: bash scripts/setup-wine.sh (or apt-get install -y --no-install-recommends ${missing.join(' ')})`);
  }
  const needs = [NODE_EXE, join(PREFIX, '.jaato-win10'), join(APP, 'node_modules', '@koromix', 'koffi-win32-x64')];
  const absent = needs.filter((p) => !existsSync(p));
  if (absent.length > 0) throw new Error(`The Wine harness is not set up (missing ${absent.join(', ')}). Run: bash scripts/setup-wine.sh`);
}

/**
 * Copies the built library (dist and package.json) into the Windows side's node_modules, as npm would
 * install it there: its imports (koffi and the rest) then resolve to the win32 packages beside it.
 * Returns the installed package's directory.
 */
export function installBuiltLibrary(): string {
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'index.js'))) throw new Error(`${dist} is missing: run npm run build`);
  const target = join(APP, 'node_modules', 'jaato-proxy');
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  cpSync(dist, join(target, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(target, 'package.json'));
  return target;
}

/** `/a/b` as Wine's Z: drive sees it. */
export function windowsPath(unixPath: string): string {
  return `Z:${unixPath.replace(/\//g, '\\')}`;
}

export interface WindowsRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node.exe script args` under Wine and resolves when it exits, or kills it after `timeoutMs`.
 * Stdout and stderr go to files (`<outBase>.out`/`.err`): a pipe makes Node for Windows die with EBADF.
 */
export function runWindowsNode(script: string, args: readonly string[], options: { env?: Record<string, string>; outBase: string; timeoutMs: number; netns?: string }): Promise<WindowsRun> {
  const outPath = `${options.outBase}.out`;
  const errPath = `${options.outBase}.err`;
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  // `netns`: inside a network namespace a test made (the AD lab's), so node.exe reaches what runs there.
  const wine = ['wine', NODE_EXE, windowsPath(script), ...args];
  const [command, ...rest] = options.netns ? ['ip', 'netns', 'exec', options.netns, ...wine] : wine;
  const child = spawn(command as string, rest, { cwd: APP, env: wineEnv(options.env), stdio: ['ignore', out, err] });
  closeSync(out);
  closeSync(err);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8') });
    });
  });
}

/**
 * Ends this prefix's wineserver (and so every Wine process of the prefix): only the harness's own.
 * Then removes the directory it kept in the temporary directory (a `server-<dev>-<inode>` directory, in hex, of the
 * prefix, inside a `wine-` one), so a test run leaves nothing there; other prefixes' are not touched.
 */
export function stopWineServer(): void {
  // -k (SIGINT): the server kills its processes, writes the registry out (close_socket_timeout's
  // flush_registry) and exits. (-w, waiting for it to end by itself, ran past 60 s at load 12.)
  spawnSync('wineserver', ['-k'], { env: wineEnv(), stdio: 'ignore', timeout: 10_000 });
  const { dev, ino } = statSync(PREFIX);
  const server = `server-${dev.toString(16)}-${ino.toString(16)}`;
  for (const entry of readdirSync(tmpdir())) {
    const dir = join(tmpdir(), entry);
    if (!entry.startsWith('wine-') || !existsSync(join(dir, server))) continue;
    rmSync(join(dir, server), { recursive: true, force: true });
    if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  }
}
