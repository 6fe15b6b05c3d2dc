import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

/** This process's children (pid and name), from /proc: what a leaked helper would be. */
export function children(): Array<{ pid: number; name: string }> {
  const out: Array<{ pid: number; name: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) out.push({ pid: Number(entry), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // gone while we looked
    }
  }
  return out;
}

/** Polls until this process has no child left (a killed helper is reaped a moment later), or fails naming them. */
export async function noChildrenLeft(what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (children().length > 0) {
    if (Date.now() > deadline) assert.fail(`${what}: helper processes left: ${JSON.stringify(children())}`);
    await new Promise((r) => setImmediate(r));
  }
}

