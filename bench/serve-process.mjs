import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./serve-child.mjs', import.meta.url));

/** Starts `serve` (bench/serve-child.mjs) in its own process; `execArgv` e.g. ['--cpu-prof', ...]. */
export async function startServeProcess(upstream, execArgv = []) {
  const child = fork(CHILD, [upstream], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [first] = await Promise.race([once(child, 'message'), once(child, 'exit').then(([code]) => { throw new Error(`serve child exited (${code})`); })]);
  return {
    url: first.url,
    pid: child.pid,
    /** The child's CPU time so far, microseconds: `{ user, system }`. */
    async cpu() {
      child.send('cpu');
      const [{ cpu }] = await once(child, 'message');
      return cpu;
    },
    async stop() {
      child.send('stop');
      await once(child, 'exit');
    },
  };
}

/** A process's CPU time so far from /proc, microseconds (Linux' 100 Hz ticks): `{ user, system }`. */
export function procCpu(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) * 10_000, system: Number(fields[12]) * 10_000 };
}
