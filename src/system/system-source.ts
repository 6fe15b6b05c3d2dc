import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Env } from '../config/env.js';
import { parseSystemSwitch, systemKind, systemSourceWanted, WPAD_LOCATION_PREFIX, type ExplicitSources, type SystemKind, type SystemProxySettings } from '../config/system/settings.js';
import { debug } from '../debug.js';
import { definePacLocation } from '../pac/pac-route.js';
import { redactUrl } from '../redact.js';
import type { ReaderInput, ReaderOutput, SystemReader } from './reader.js';
import { gnomeReader } from './readers/gnome.js';
import { kdeReader } from './readers/kde.js';
import { macosReader } from './readers/macos.js';
import { windowsReader } from './readers/windows.js';
import { discoverWpad, resolvConfDomain } from './wpad.js';

const READERS: Readonly<Record<SystemKind, SystemReader>> = { gnome: gnomeReader, kde: kdeReader, macos: macosReader, windows: windowsReader };

/** Variables a reader's commands depend on: they go to the command (gsettings finds dconf and D-Bus by them). */
const READER_VARIABLES = ['HOME', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR', 'XDG_DATA_DIRS', 'DBUS_SESSION_BUS_ADDRESS', 'GSETTINGS_BACKEND', 'XDG_CURRENT_DESKTOP', 'DESKTOP_SESSION'] as const;

/** What decides which settings are read; equal keys share one snapshot. */
export interface SystemKey {
  kind: SystemKind | undefined;
  wpad: 'auto' | 'on' | 'off';
  vars: Readonly<Record<string, string | undefined>>;
  id: string;
}

/** The first read of a command may take this long, once per process; a background re-read as long. */
const COMMAND_TIMEOUT_MS = 3000;
/** Settings are read again this long after the last read, in the background, when a request asks. */
export const SYSTEM_SETTINGS_TTL_MS = 30_000;
const RESOLV_CONF = '/etc/resolv.conf';
const SNAPSHOTS_LIMIT = 32;

/**
 * The key for `env`, or undefined when the OS's settings are not the source: explicit options or proxy
 * variables are set (unless JAATO_SYSTEM_PROXY=on), JAATO_SYSTEM_PROXY=off, or there is no system whose
 * settings are known (a Linux session naming no GNOME-like or KDE desktop) and JAATO_WPAD is not on.
 * Reads `env` only through plain property reads, so a recording view sees every variable that decided.
 */
export function systemKeyFor(env: Env, explicit: ExplicitSources = {}, platform: NodeJS.Platform = process.platform): SystemKey | undefined {
  if (!systemSourceWanted(env, explicit)) return undefined;
  const wpad = parseSystemSwitch(env.JAATO_WPAD, 'JAATO_WPAD').value;
  const kind = systemKind(platform, env);
  if (kind === undefined && wpad !== 'on') return undefined;
  const vars: Record<string, string | undefined> = {};
  for (const name of READER_VARIABLES) vars[name] = env[name];
  return { kind, wpad, vars, id: JSON.stringify([platform, kind, wpad, vars]) };
}

interface Snapshot {
  key: SystemKey;
  settings: SystemProxySettings;
  text: string;
  readAt: number;
  refreshing: boolean;
}

export interface SystemSettingsSourceOptions {
  ttlMs?: number;
  now?: () => number;
  /** The machine, for tests: runs a reader's inputs (sync for the first read, async after). */
  readSync?: (inputs: readonly ReaderInput[], env: NodeJS.ProcessEnv) => ReaderOutput[];
  read?: (inputs: readonly ReaderInput[], env: NodeJS.ProcessEnv) => Promise<ReaderOutput[]>;
}

/**
 * The OS's proxy settings, one snapshot per key. The first read is synchronous, bounded by
 * COMMAND_TIMEOUT_MS per command, and done once per process: the node agents decide a route
 * synchronously, and a gsettings, scutil or reg query takes milliseconds. After `ttlMs` the next caller
 * starts a re-read in the background and goes on with the snapshot it has: no request ever waits for
 * one, and a laptop that moved from the office to home is followed within a TTL. A changed snapshot
 * is a new object, so the routings compiled from the old one are compiled again.
 */
export class SystemSettingsSource {
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #readSync: NonNullable<SystemSettingsSourceOptions['readSync']>;
  readonly #read: NonNullable<SystemSettingsSourceOptions['read']>;

  constructor(options: SystemSettingsSourceOptions = {}) {
    this.#ttlMs = options.ttlMs ?? SYSTEM_SETTINGS_TTL_MS;
    this.#now = options.now ?? Date.now;
    this.#readSync = options.readSync ?? runInputsSync;
    this.#read = options.read ?? runInputs;
  }

  current(key: SystemKey): SystemProxySettings {
    let snapshot = this.#snapshots.get(key.id);
    if (!snapshot) {
      const settings = finish(key, this.#readSync(allInputs(key), commandEnv(key)));
      snapshot = { key, settings, text: JSON.stringify(settings), readAt: this.#now(), refreshing: false };
      // A process sees few distinct sessions; one whose environment keeps changing must not grow this.
      if (this.#snapshots.size >= SNAPSHOTS_LIMIT) this.#snapshots.delete(this.#snapshots.keys().next().value as string);
      this.#snapshots.set(key.id, snapshot);
      announce(settings, 'read');
    } else if (this.#now() - snapshot.readAt >= this.#ttlMs && !snapshot.refreshing) {
      void this.refresh(key);
    }
    return snapshot.settings;
  }

  /** Reads `key`'s settings again now (what the TTL does in the background); resolves once the snapshot is current. */
  async refresh(key: SystemKey): Promise<SystemProxySettings> {
    const snapshot = this.#snapshots.get(key.id);
    if (!snapshot) return this.current(key);
    snapshot.refreshing = true;
    try {
      const inputs = allInputs(key);
      const outputs = await this.#read(inputs, commandEnv(key));
      // Every command failing (a D-Bus restarting, a timeout) says nothing about the settings: keep the last good ones.
      const commands = outputs.filter((_, i) => inputs[i]?.kind === 'run');
      if (commands.length > 0 && commands.every((o) => !o.ok) && snapshot.settings.problems.length === 0) {
        debug('system proxy settings: re-read failed (%s), keeping the last ones', commands.map((o) => (o.ok ? '' : o.error)).join('; '));
        return snapshot.settings;
      }
      const settings = finish(key, outputs);
      const text = JSON.stringify(settings);
      if (text !== snapshot.text) {
        snapshot.settings = settings;
        snapshot.text = text;
        announce(settings, 'changed');
      }
    } catch (error) {
      debug('system proxy settings: re-read failed, keeping the last ones: %s', (error as Error).message);
    } finally {
      snapshot.readAt = this.#now();
      snapshot.refreshing = false;
    }
    return snapshot.settings;
  }

  /** Every snapshot read again now. */
  async refreshAll(): Promise<void> {
    await Promise.all([...this.#snapshots.values()].map((s) => this.refresh(s.key)));
  }
}

/** The reader's inputs, then resolv.conf (WPAD's search domain) where the OS has one. */
function allInputs(key: SystemKey): ReaderInput[] {
  const reader = key.kind ? READERS[key.kind] : undefined;
  const inputs = reader ? reader.inputs(key.vars) : [];
  return key.kind === 'windows' ? inputs : [...inputs, { kind: 'file', path: RESOLV_CONF }];
}

/** The settings from the outputs of `allInputs(key)`: the reader's, JAATO_WPAD applied, the WPAD location defined. */
function finish(key: SystemKey, outputs: readonly ReaderOutput[]): SystemProxySettings {
  const reader = key.kind ? READERS[key.kind] : undefined;
  const own = reader ? outputs.slice(0, reader.inputs(key.vars).length) : [];
  const resolv = key.kind === 'windows' ? undefined : outputs[outputs.length - 1];
  const parsed: SystemProxySettings = reader
    ? reader.parse(own, key.vars)
    : { mode: 'none', source: 'JAATO_WPAD=on', bypass: [], bypassName: 'bypass list', bypassStyle: 'suffix', autoDetect: false, problems: [] };
  const dnsDomain = parsed.dnsDomain ?? (resolv?.ok ? resolvConfDomain(resolv.text) : undefined);
  let settings: SystemProxySettings = { ...parsed, ...(dnsDomain && { dnsDomain }) };
  if (key.wpad === 'off' && settings.autoDetect) {
    settings = { ...settings, autoDetect: false, mode: settings.pacUrl ? 'pac' : settings.httpProxy || settings.httpsProxy ? 'manual' : 'none', problems: [...settings.problems, 'auto-detect (WPAD) is set but JAATO_WPAD=off'] };
  } else if (key.wpad === 'on' && !settings.autoDetect) {
    settings = { ...settings, autoDetect: true, mode: 'auto-detect' };
  }
  if (settings.mode === 'auto-detect') {
    const domain = settings.dnsDomain;
    definePacLocation(`${WPAD_LOCATION_PREFIX}${domain ?? ''}`, () => discoverWpad(domain));
  }
  return settings;
}

function announce(s: SystemProxySettings, what: 'read' | 'changed'): void {
  const detail =
    s.mode === 'manual'
      ? `http ${s.httpProxy ? redactUrl(s.httpProxy.includes('://') ? s.httpProxy : `http://${s.httpProxy}`) : 'direct'}, https ${s.httpsProxy ? redactUrl(s.httpsProxy.includes('://') ? s.httpsProxy : `http://${s.httpsProxy}`) : 'direct'}, ${s.bypassName} ${s.bypass.length} entries`
      : s.mode === 'pac'
        ? `PAC ${redactUrl(s.pacUrl ?? '')}`
        : s.mode === 'auto-detect'
          ? `WPAD from ${s.dnsDomain ?? 'no search domain'}`
          : 'no proxy';
  debug('system proxy settings %s: %s, mode %s: %s%s', what, s.source, s.mode, detail, s.problems.length > 0 ? ` (${s.problems.join('; ')})` : '');
}

/** The process's environment with the caller's reader variables over it (a caller's `env` may set only those). */
function commandEnv(key: SystemKey): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(key.vars)) if (value !== undefined) env[name] = value;
  return env;
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { stderr?: string | Buffer; status?: number };
  const stderr = e.stderr ? String(e.stderr).trim().split('\n')[0] : '';
  return e.code === 'ENOENT' ? 'ENOENT: not installed' : stderr || e.code || e.message;
}

function runInputsSync(inputs: readonly ReaderInput[], env: NodeJS.ProcessEnv): ReaderOutput[] {
  return inputs.map((input): ReaderOutput => {
    try {
      if (input.kind === 'file') return { ok: true, text: readFileSync(input.path, 'utf8') };
      return { ok: true, text: execFileSync(input.file, input.args, { env, encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true }) };
    } catch (error) {
      return { ok: false, error: describe(error) };
    }
  });
}

function runInputs(inputs: readonly ReaderInput[], env: NodeJS.ProcessEnv): Promise<ReaderOutput[]> {
  return Promise.all(
    inputs.map(
      (input): Promise<ReaderOutput> =>
        input.kind === 'file'
          ? readFile(input.path, 'utf8').then((text) => ({ ok: true, text }), (error: unknown) => ({ ok: false, error: describe(error) }))
          : new Promise((resolve) => {
              execFile(input.file, input.args, { env, encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, windowsHide: true }, (error, stdout, stderr) =>
                resolve(error ? { ok: false, error: describe(Object.assign(error, { stderr })) } : { ok: true, text: stdout }),
              );
            }),
    ),
  );
}

/** The process's one source: every client shares its snapshots. */
export const systemSettingsSource = new SystemSettingsSource();

/**
 * The OS's proxy settings when they are the source for `env` and these explicit settings, else
 * undefined: what explain, doctor, serve and the safety net pass on as `ProxyOptions.system`.
 */
export function systemSettingsFor(env: Env, explicit: ExplicitSources = {}, platform: NodeJS.Platform = process.platform): SystemProxySettings | undefined {
  const key = systemKeyFor(env, explicit, platform);
  return key && systemSettingsSource.current(key);
}
