import { execFile } from 'node:child_process';

export interface TicketCacheState {
  /** klist reported a valid (unexpired) ticket. */
  valid: boolean;
  principal?: string;
  /** The TGT's expiry as klist prints it. */
  expires?: string;
  /** klist is not installed (e.g. Windows, where SSPI uses the logon session). */
  klistMissing?: boolean;
}

function klist(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile('klist', args, { env, timeout: 5000 }, (error, stdout) => {
      const code = error ? (typeof (error as NodeJS.ErrnoException).code === 'number' ? Number((error as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, out: stdout, missing: (error as NodeJS.ErrnoException | null)?.code === 'ENOENT' });
    });
  });
}

/** What the Kerberos credential cache holds, through the platform's `klist` (MIT or Heimdal). */
export async function readTicketCache(env: NodeJS.ProcessEnv = process.env): Promise<TicketCacheState> {
  const status = await klist(['-s'], env);
  if (status.missing) return { valid: false, klistMissing: true };
  const list = await klist([], env);
  const state: TicketCacheState = { valid: status.code === 0 };
  const principal = /(?:Default principal|Principal):\s*(\S+)/i.exec(list.out)?.[1];
  if (principal) state.principal = principal;
  // MIT: "<start>  <expires>  krbtgt/REALM@REALM"; columns are separated by two or more spaces.
  const tgt = list.out.split('\n').find((l) => /krbtgt\//.test(l));
  const columns = tgt?.trim().split(/\s{2,}/);
  if (columns && columns.length >= 3) state.expires = columns[1];
  return state;
}
