import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer } from 'node:net';
import { LabSetupError } from './prerequisites.js';

/** Runs a short command to completion; rejects with its output when it fails. */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    // A command that exits without reading its stdin (kdestroy, kinit -k) makes this write fail with
    // EPIPE; that is not the command failing, and unhandled it would be an uncaught exception.
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new LabSetupError(`${command} ${args.join(' ')} exited with ${code}: ${output.trim()}`));
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Starts a long-running service with its output going to a log file, in its own process group. */
export function startService(command: string, args: readonly string[], logFile: string, options: SpawnOptions): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { ...options, stdio: ['ignore', fd, fd], detached: true });
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

/** A port free on 127.0.0.1 right now (TCP; the KDC also takes UDP on it, which is checked at start). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once something accepts TCP connections on the port; fails after `timeoutMs`. */
export async function waitForPort(
  port: number,
  what: string,
  timeoutMs: number,
  logFiles: readonly string[] = [],
  child?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    const exited = child !== undefined && child.exitCode !== null;
    if (exited || Date.now() > deadline) {
      let tail = '';
      for (const file of logFiles) {
        try {
          tail += readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
        } catch {
          // not written yet
        }
      }
      const why = exited ? `exited (code ${child?.exitCode})` : `did not open port ${port} within ${timeoutMs} ms`;
      throw new LabSetupError(`${what} ${why}.${tail ? `\n${tail}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** True when a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A plain HTTP/1.0 GET to a lab service on 127.0.0.1, over a raw socket (no agent, so no proxy or
 * global install in this process can reroute it); resolves with the whole answer once it closes.
 */
export function rawGet(port: number, target: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer from 127.0.0.1:${port} within ${timeoutMs} ms`)));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.end(`GET ${target} HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  });
}
