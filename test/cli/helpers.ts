import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../lab/lab.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = `${ROOT}dist/cli/main.js`;
/** The same CLI compiled with the tests, beside .test-build/lab: the only build whose `demo` finds the lab. */
export const CLI_WITH_LAB = `${ROOT}.test-build/src/cli/main.js`;
const cliFor = (args: string[]): string => (args[0] === 'demo' ? CLI_WITH_LAB : CLI);

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment a user of the lab would have: its Kerberos files and its Negotiate proxy; its
 * runtime directory in the lab's, so files serve writes there go with the lab.
 */
export function labEnv(lab: Lab, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, ...lab.env, XDG_RUNTIME_DIR: lab.dir, HTTPS_PROXY: lab.proxies.negotiate, HTTP_PROXY: lab.proxies.negotiate, JAATO_KERBEROS_PROXY: 'true', ...extra };
}

/**
 * The line serve prints for its clients: the proxy URL with its per-run client credential (group 1)
 * and the port (group 2). Wait for this, not the banner, to drive serve as its owner's tools do.
 */
export const SERVE_READY = /export HTTPS_PROXY=(http:\/\/jaato:[0-9a-f]{32}@(?:127\.0\.0\.1|\[::1\]):(\d+))\r?\n/;

/** The `Proxy-Authorization` field (with its CRLF) that a proxy URL's userinfo stands for, for raw requests. */
export function proxyAuthorization(url: string): string {
  const u = new URL(url);
  return `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}\r\n`;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliFor(args), ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

export function curl(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', ...args], { env: { PATH: process.env.PATH }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Starts `jaato-proxy <args>` and resolves once its first stdout line matching `ready` is out. */
export function startCli(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string; errors: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliFor(args), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`not ready: ${out}${err}`)), 15_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, output: () => out, errors: () => err });
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${out}${err}`));
    });
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

/** One line of `doctor --json` (every key present: `remedy` is null when there is none). */
export interface DoctorCheck {
  name: string;
  status: string;
  detail: string;
  remedy: string | null;
}

/** `doctor --json`'s documented shape, as far as the tests read it. */
export interface DoctorJson {
  ok: boolean;
  url: string | null;
  checks: DoctorCheck[];
  proxies: Array<Record<string, unknown>>;
  kerberos: Record<string, unknown>;
  /** null without a PAC; its shape is test/cli/doctor-pac's PacJson. */
  pac: unknown;
}

/** Runs `jaato-proxy doctor --json <args>`; fails loudly when it printed no JSON. */
export async function doctorJson(env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number; report: DoctorJson; stderr: string }> {
  const r = await runCli(['doctor', '--json', ...args], env);
  let report: DoctorJson;
  try {
    report = JSON.parse(r.stdout) as DoctorJson;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

/** The report's line named `name`; fails naming the lines there are when it is missing. */
export function doctorLine(report: DoctorJson, name: string): DoctorCheck {
  const found = report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no "${name}" line in ${JSON.stringify(report.checks, null, 1)}`);
  return found;
}

/** The names of the lines that failed. */
export function failedLines(report: DoctorJson): string[] {
  return report.checks.filter((c) => c.status === 'fail').map((c) => c.name);
}
