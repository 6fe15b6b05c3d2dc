import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Agent, interceptors, type Dispatcher } from 'undici';
import { secureContextTrusting, type CaOption } from '../transport/trust.js';
import { PacFetchError } from './errors.js';

/** A PAC file bigger than this is refused: real ones are a few KiB, and its text is kept in memory. */
export const PAC_MAX_BYTES = 1024 * 1024;

export interface PacSourceOptions {
  /** Connect + answer bound for an http(s) PAC URL. */
  timeoutMs: number;
  /** Extra CAs for an https PAC URL, added to Node's. */
  ca?: CaOption;
}

/** `http(s)://`, `file://` or a file path; anything else is refused by name. */
export function pacLocation(value: string): { kind: 'http'; url: URL } | { kind: 'file'; path: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return { kind: 'http', url };
    if (url.protocol === 'file:') return { kind: 'file', path: fileURLToPath(url) };
    throw new PacFetchError(value, `${url.protocol} is not a PAC location: use http://, https://, file:// or a path`);
  }
  return { kind: 'file', path: value };
}

/**
 * The PAC file's text. An http(s) PAC is fetched straight from its server, never through a proxy (the
 * PAC is what says which proxy to use), with redirects followed, a time bound and a size bound.
 */
export async function loadPac(value: string, options: PacSourceOptions): Promise<string> {
  const where = pacLocation(value);
  if (where.kind === 'file') {
    try {
      const text = await readFile(where.path);
      if (text.length > PAC_MAX_BYTES) throw new PacFetchError(value, `it is larger than ${PAC_MAX_BYTES} bytes`);
      return text.toString('utf8');
    } catch (error) {
      if (error instanceof PacFetchError) throw error;
      throw new PacFetchError(value, (error as NodeJS.ErrnoException).code ?? String(error), { cause: error });
    }
  }
  const direct = new Agent({
    connectTimeout: options.timeoutMs,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connect: options.ca !== undefined ? { secureContext: secureContextTrusting(options.ca) } : {},
  });
  const dispatcher: Dispatcher = direct.compose(interceptors.redirect({ maxRedirections: 5 }));
  const abort = AbortSignal.timeout(options.timeoutMs);
  try {
    const res = await dispatcher.request({ origin: where.url.origin, path: `${where.url.pathname}${where.url.search}`, method: 'GET', signal: abort });
    if (res.statusCode !== 200) {
      res.body.resume();
      throw new PacFetchError(value, `the server answered ${res.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > PAC_MAX_BYTES) {
        res.body.destroy();
        throw new PacFetchError(value, `it is larger than ${PAC_MAX_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    if (error instanceof PacFetchError) throw error;
    const detail = abort.aborted ? `no answer within ${options.timeoutMs} ms` : describeNetworkError(error);
    throw new PacFetchError(value, detail, { cause: error });
  } finally {
    void direct.close();
  }
}

function describeNetworkError(error: unknown): string {
  const e = error as { code?: string; message?: string; cause?: { code?: string } };
  return e.code ?? e.cause?.code ?? e.message ?? String(error);
}
