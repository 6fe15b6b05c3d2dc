import { after, before, beforeEach } from 'node:test';
import { spawnSync } from 'node:child_process';
import { startLab, type Lab } from '../../lab/lab.js';
import type { AccessLogEntry } from '../../lab/squid.js';

/**
 * Starts the real lab for this test file and points this process's Kerberos library at it. There is no
 * skip: a machine without the lab's packages fails here, with the packages to install in the message.
 * `connectPorts`: more ports Squid may CONNECT to (a test's own HTTPS origins), read when the lab starts.
 */
export function useLab(options: { kinit?: boolean; connectPorts?: () => readonly number[]; squidHeaderLimit?: number } = {}): { readonly lab: Lab } {
  const holder: { lab?: Lab } = {};
  const saved: Record<string, string | undefined> = {};
  before(async () => {
    // connectPorts is asked for here, so an earlier before() can start the origins it names.
    const lab = await startLab({
      ...(options.kinit !== undefined && { kinit: options.kinit }),
      ...(options.connectPorts && { connectPorts: options.connectPorts() }),
      ...(options.squidHeaderLimit !== undefined && { squidHeaderLimit: options.squidHeaderLimit }),
    });
    for (const [k, v] of Object.entries(lab.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    holder.lab = lab;
  });
  // Whatever an earlier test did to the ticket (kdestroy, a short lifetime), the next one starts with
  // a valid one, so one failing test cannot cascade into the rest of the file.
  if (options.kinit !== false) beforeEach(async () => holder.lab?.ensureTicket());
  after(async () => {
    await holder.lab?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  return {
    get lab(): Lab {
      if (!holder.lab) throw new Error('lab not started');
      return holder.lab;
    },
  };
}

/**
 * Resolves once the ticket in `ccache` has expired (`klist -s` fails) and stayed so for a second: klist,
 * the Kerberos library and the KDC compare whole seconds, so the first failing klist can precede
 * theirs. Polled to a deadline, so a test waits exactly as long as the ticket's lifetime asks.
 */
export async function untilTicketExpired(ccache: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  const env = { ...process.env, KRB5CCNAME: ccache };
  let expiredAt: number | undefined;
  while (expiredAt === undefined || Date.now() - expiredAt < 1000) {
    if (spawnSync('klist', ['-s'], { env }).status !== 0) expiredAt ??= Date.now();
    if (Date.now() > deadline) throw new Error(`the ticket in ${ccache} did not expire within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Which proxy's access log to read: Squid's (the default) or Apache's, `lab.perRequestLog`. */
export type LogReader = (lab: Lab) => AccessLogEntry[];
const squidLog: LogReader = (lab) => lab.accessLog();

/**
 * True once the lab's proxies serve no request (open tunnels count, idle kept-alive connections do not):
 * both write a request's log line when it ends, so their logs then hold every line still to come. A
 * proxy that cannot answer (being restarted) counts as busy.
 */
async function proxiesIdle(lab: Lab): Promise<boolean> {
  const now = await lab.activeRequests().catch(() => undefined);
  return now !== undefined && now.squid === 0 && now.apache === 0;
}

/** Polls `done` every 25 ms until it holds or `ms` have passed; says which. */
async function until(done: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A proxy's log lines (requests only) written since entry `from`, once there are at least `min` of them
 * and the proxies serve no request (so no later line is still to come), or after 10 s. Both conditions:
 * idle alone is not enough, as a proxy may count a request done just before its line is written
 * (Apache's event MPM logs when the response's last bytes leave, after the worker is free; Squid logs a
 * CONNECT when its tunnel closes). Both proxies log a CONNECT only when its tunnel closes, so they can
 * trail the request.
 */
export async function logSince(lab: Lab, from: number, min: number, read: LogReader = squidLog): Promise<AccessLogEntry[]> {
  const entries = (): AccessLogEntry[] => read(lab).slice(from).filter((e) => e.method !== '-');
  await until(async () => entries().length >= min && (await proxiesIdle(lab)), 10_000);
  return entries();
}

/**
 * The log lines since entry `from` once one of them is `wanted` (or after 10 s): for a test that knows
 * the line it waits for, so that a line of an earlier test, written late, cannot stand in for it.
 */
export async function logUntil(lab: Lab, from: number, wanted: (e: AccessLogEntry) => boolean, read: LogReader = squidLog): Promise<AccessLogEntry[]> {
  const entries = (): AccessLogEntry[] => read(lab).slice(from).filter((e) => e.method !== '-');
  await until(() => entries().some(wanted), 10_000);
  return entries();
}

/**
 * The log's length once the lab's proxies serve no request (so every line of earlier requests is in),
 * or after 10 s if one stays open (a tunnel a test left open). A CONNECT is logged when its tunnel
 * closes, so a previous test's line can arrive late: tests that read the log start from here.
 */
export async function quietLogLength(lab: Lab, read: LogReader = squidLog): Promise<number> {
  await until(() => proxiesIdle(lab), 10_000);
  return read(lab).length;
}

let pacsServed = 0;

/** Serves `text` as a PAC file from the lab's http origin, at a path of its own; returns its URL. */
export function servePac(lab: Lab, text: string): string {
  const path = `/pac/${process.pid}-${++pacsServed}.pac`;
  lab.origins.http.mount(path, (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/x-ns-proxy-autoconfig' }).end(text);
  });
  return `${lab.origins.http.url}${path}`;
}
