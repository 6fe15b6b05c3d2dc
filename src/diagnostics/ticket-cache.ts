import { execFile } from 'node:child_process';
import { parseKlist, type KlistListing } from './klist-output.js';

/** What `klist` says about the credential cache. Detail only: the proof is a token (see doctor). */
export interface TicketCacheState {
  /** `ran`; `missing` when klist is not installed; `skipped` on Windows, whose klist.exe is another program. */
  klist: 'ran' | 'missing' | 'skipped';
  /** `klist -s` (MIT and Heimdal): the cache holds a valid ticket-granting ticket. */
  valid: boolean;
  /** The parsed listing; undefined when klist printed none or one neither MIT's nor Heimdal's. */
  listing?: KlistListing;
  /** klist's own complaint when it lists nothing, e.g. `No credentials cache found (filename: /tmp/x)`. */
  complaint?: string;
}

interface Run {
  code: number;
  out: string;
  err: string;
  missing: boolean;
}

function klist(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    // C locale: both klists translate their headers and dates, and the parser reads the English ones.
    execFile('klist', args, { env: { ...env, LC_ALL: 'C' }, timeout: 5000 }, (error, stdout, stderr) => {
      const errno = (error as NodeJS.ErrnoException | null)?.code;
      resolve({ code: error ? (typeof errno === 'number' ? errno : 1) : 0, out: stdout, err: stderr, missing: errno === 'ENOENT' });
    });
  });
}

/** Reads the credential cache through the platform's `klist` (MIT or Heimdal); never throws. */
export async function readTicketCache(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<TicketCacheState> {
  if (platform === 'win32') return { klist: 'skipped', valid: false };
  const status = await klist(['-s'], env);
  if (status.missing) return { klist: 'missing', valid: false };
  const list = await klist([], env);
  const state: TicketCacheState = { klist: 'ran', valid: status.code === 0 };
  const listing = parseKlist(list.out);
  if (listing) state.listing = listing;
  // "klist: No credentials cache found (filename: /tmp/x)" (MIT), "klist: No ticket file: FILE:/tmp/x" (Heimdal).
  const complaint = list.err.trim().split('\n')[0]?.replace(/^klist:\s*/, '');
  if (complaint) state.complaint = complaint;
  return state;
}
