import { after, before, beforeEach } from 'node:test';
import { startLab, type Lab } from '../../src/lab/lab.js';
import type { AccessLogEntry } from '../../src/lab/squid.js';

/**
 * Starts the real lab for this test file and points this process's Kerberos library at it. There is no
 * skip: a machine without the lab's packages fails here, with the packages to install in the message.
 * `connectPorts`: more ports Squid may CONNECT to (a test's own HTTPS origins), read when the lab starts.
 */
export function useLab(options: { kinit?: boolean; connectPorts?: () => readonly number[] } = {}): { readonly lab: Lab } {
  const holder: { lab?: Lab } = {};
  const saved: Record<string, string | undefined> = {};
  before(async () => {
    // connectPorts is asked for here, so an earlier before() can start the origins it names.
    const lab = await startLab({ ...(options.kinit !== undefined && { kinit: options.kinit }), ...(options.connectPorts && { connectPorts: options.connectPorts() }) });
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

/** Which proxy's access log to read: Squid's (the default) or Apache's, `lab.perRequestLog`. */
export type LogReader = (lab: Lab) => AccessLogEntry[];
const squidLog: LogReader = (lab) => lab.accessLog();

/**
 * A proxy's log lines (requests only) written since entry `from`, once there are at least `min` of them
 * or 3 s have passed. Both proxies log a CONNECT only when its tunnel closes, so they can trail the request.
 */
export async function logSince(lab: Lab, from: number, min: number, read: LogReader = squidLog): Promise<AccessLogEntry[]> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const entries = read(lab).slice(from).filter((e) => e.method !== '-');
    if (entries.length >= min || Date.now() > deadline) return entries;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The log's length once the proxy has written nothing for 150 ms. A CONNECT is logged when its tunnel
 * closes, so a previous test's line can arrive late: tests that read the log start from here.
 */
export async function quietLogLength(lab: Lab, read: LogReader = squidLog): Promise<number> {
  let last = read(lab).length;
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 150));
    const now = read(lab).length;
    if (now === last) return now;
    last = now;
  }
  return last;
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
