import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createSocket } from 'node:dgram';
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

/**
 * The lowest port the kernel hands out for outgoing connections and listen(0). The lab's services get
 * ports below it: a port that is only free for a moment would otherwise be taken, between the check
 * and the service's bind, by any connection on the machine (a suite run makes thousands).
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return low > LAB_PORTS_FROM + 1000 ? low : 32768;
  } catch {
    return 32768;
  }
}
const LAB_PORTS_FROM = 20000;
/** Ports this process picked already, so that one lab's services never get the same one. */
const picked = new Set<number>();

function bindable(port: number): Promise<boolean> {
  const tcp = new Promise<boolean>((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  // The KDC takes UDP on its port too.
  const udp = new Promise<boolean>((resolve) => {
    const socket = createSocket('udp4');
    socket.unref();
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
  return Promise.all([tcp, udp]).then(([a, b]) => a && b);
}

/**
 * A port free on 127.0.0.1 (TCP and UDP) right now, chosen at random below the ephemeral range (see
 * ephemeralLow). Another lab starting at the same moment could still pick it: waitForPort checks that
 * the listener it finds belongs to the service it waits for.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  for (let i = 0; i < 100; i++) {
    const port = LAB_PORTS_FROM + Math.floor(Math.random() * (high - LAB_PORTS_FROM));
    if (picked.has(port) || !(await bindable(port))) continue;
    picked.add(port);
    return port;
  }
  throw new LabSetupError(`no free port on 127.0.0.1 between ${LAB_PORTS_FROM} and ${high} after 100 tries`);
}

/** Inode of the socket listening on 127.0.0.1:`port` (or any address), from /proc/net/tcp. */
function listenerInode(port: number): string | undefined {
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1] ?? '';
    if (fields[3] === '0A' && parseInt(local.slice(local.indexOf(':') + 1), 16) === port) return fields[9];
  }
  return undefined;
}

/**
 * Resolves once nothing listens on `port` any more: a killed service's group can outlive its leader
 * by a moment, and a new service could not bind the port while one of them still holds it.
 */
export async function waitForPortFree(port: number, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (listenerInode(port) !== undefined) {
    if (Date.now() > deadline) throw new LabSetupError(`${what}: port ${port} still has a listener ${timeoutMs} ms after the service was killed`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function ownedBy(port: number, pid: number): boolean {
  const inode = listenerInode(port);
  return inode !== undefined && holdsSocket(pid, inode);
}

/** True when process `pid` holds the socket with this inode (Squid, krb5kdc and httpd's parent hold their listeners). */
function holdsSocket(pid: number, inode: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
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
    // Open, and ours: a lab starting beside this one may have picked the same port and bound it first,
    // and its service must not stand in for this one (this one then fails to bind and exits).
    if (open && (child?.pid === undefined || !existsSync('/proc/net/tcp') || ownedBy(port, child.pid))) return;
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
    socket.on('end', () => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.on('error', reject);
    // Not end(): Squid reads a client's half-close as an abort. HTTP/1.0: the server closes when done.
    socket.write(`GET ${target} HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  });
}
