import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Fails loudly, naming the Debian package, when a tool the test needs is missing. */
export async function requireTool(file: string, args: string[], pkg: string): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    execFile(file, args, (error) => (error && (error as NodeJS.ErrnoException).code === 'ENOENT' ? reject(new Error(`${file} is missing: install the Debian package ${pkg} (scripts/setup.sh does)`)) : resolve())),
  );
}

export interface GnomeSession {
  /** The variables a program of this session has: the desktop, its config home, its D-Bus. No proxy variable. */
  env: Record<string, string>;
  /** `gsettings set schema key value` in this session (dconf, written by the session's dconf-service). */
  set(schema: string, key: string, value: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private GNOME settings store: a session D-Bus of its own (dbus-daemon starts dconf-service on
 * demand) over a temporary XDG_CONFIG_HOME, so `gsettings set` writes a real dconf database that
 * nothing else on the machine reads, and a reader finds it by the variables in `env`.
 */
export async function startGnomeSession(): Promise<GnomeSession> {
  await requireTool('gsettings', ['--version'], 'libglib2.0-bin (with dconf-gsettings-backend and gsettings-desktop-schemas)');
  await requireTool('dbus-daemon', ['--version'], 'dbus');
  const dir = await mkdtemp(join(tmpdir(), 'jaato-gnome-'));
  const config = join(dir, 'config');
  const runtime = join(dir, 'run');
  await mkdir(config);
  await mkdir(runtime, { mode: 0o700 });
  const base = { XDG_CONFIG_HOME: config, XDG_RUNTIME_DIR: runtime, GSETTINGS_BACKEND: 'dconf' };
  const daemon: ChildProcess = spawn('dbus-daemon', ['--session', '--nofork', '--nopidfile', '--print-address=1'], { env: { ...process.env, ...base }, stdio: ['ignore', 'pipe', 'inherit'] });
  const address = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: daemon.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => resolve(line.trim()));
    daemon.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code}) before printing its address`)));
  });
  const env = { ...base, DBUS_SESSION_BUS_ADDRESS: address, XDG_CURRENT_DESKTOP: 'GNOME' };
  return {
    env,
    set: (schema, key, value) =>
      new Promise<void>((resolve, reject) =>
        execFile('gsettings', ['set', schema, key, value], { env: { ...process.env, ...env } }, (error, _out, stderr) => (error ? reject(new Error(`gsettings set ${schema} ${key}: ${stderr}`)) : resolve())),
      ),
    async stop() {
      const exited = new Promise((r) => daemon.once('exit', r));
      daemon.kill();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A temporary XDG_CONFIG_HOME holding `kioslaverc`, for a KDE session's variables. */
export async function kdeSession(kioslaverc: string): Promise<{ env: Record<string, string>; write(text: string): Promise<void>; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'jaato-kde-'));
  const write = (text: string): Promise<void> => writeFile(join(dir, 'kioslaverc'), text);
  await write(kioslaverc);
  return { env: { XDG_CONFIG_HOME: dir, XDG_CURRENT_DESKTOP: 'KDE' }, write, stop: () => rm(dir, { recursive: true, force: true }) };
}
