import { readFile } from 'node:fs/promises';
import { loadSecurityProvider } from '../auth/native/load.js';
import { NativeSecurityFailure, type SecurityLibraryInfo } from '../auth/native/provider.js';
import { tidyStatusText } from '../auth/native/gssapi/status.js';
import { fileCachePath, parseFileCcache, tgtOf, type CacheContents } from './ccache-file.js';

/**
 * The default credential as the security library sees it (never the ticket itself), read through the
 * same binding that makes tokens: `valid` with who and how long, or why not.
 */
export type CredentialRead =
  | { state: 'valid'; principal: string | undefined; lifetimeSeconds: number | undefined }
  | { state: 'none' | 'expired' | 'unreadable'; said: string }
  | { state: 'no library' };

/** What doctor knows of the credentials before it asks for a token. */
export interface CredentialState {
  library: SecurityLibraryInfo | undefined;
  credential: CredentialRead;
  /** A FILE: cache's contents, read before the library is asked (which may fill it from a client keytab). */
  cache: { path: string; contents: CacheContents | undefined } | undefined;
}

/** The cache file GSSAPI would use, if it is a file; never throws. */
export async function readCacheFile(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): Promise<CredentialState['cache']> {
  if (platform === 'win32') return undefined;
  const path = fileCachePath(env, process.getuid?.());
  if (!path) return undefined;
  const bytes = await readFile(path).catch(() => undefined);
  return { path, contents: bytes && parseFileCcache(bytes) };
}

/** Asks the library for the default credential (on libuv's pool: with a client keytab it reaches the KDC). */
export async function readCredential(env: NodeJS.ProcessEnv): Promise<Pick<CredentialState, 'library' | 'credential'>> {
  let provider;
  try {
    provider = await loadSecurityProvider({ env });
  } catch {
    return { library: undefined, credential: { state: 'no library' } };
  }
  try {
    const c = await provider.inquireCredential();
    return { library: provider.info, credential: { state: 'valid', principal: c.principal, lifetimeSeconds: c.lifetimeSeconds } };
  } catch (error) {
    const said = tidyStatusText(error instanceof Error ? error.message : String(error));
    const kind = error instanceof NativeSecurityFailure ? error.kind : 'other';
    const state = kind === 'credentials-expired' ? 'expired' : kind === 'no-credentials' ? 'none' : 'unreadable';
    return { library: provider.info, credential: { state, said } };
  }
}

/** The cache's TGT has passed its end (Heimdal reports such a cache as holding no credentials). */
export function cacheExpired(cache: CredentialState['cache'], nowSeconds: number): boolean {
  const tgt = cache?.contents && tgtOf(cache.contents);
  return tgt !== undefined && tgt.endtime <= nowSeconds;
}
