import { Worker } from 'node:worker_threads';

/** Heap for the rewrite: a 1 MiB PAC's syntax tree fits many times over. */
export const REWRITE_MEMORY_MB = 128;

/** Why a rewrite gave no code: the script does not parse, or the rewrite overran its time or memory. */
export class RewriteError extends Error {
  readonly failure: 'compile' | 'timeout' | 'memory';
  constructor(failure: 'compile' | 'timeout' | 'memory', message: string) {
    super(message);
    this.failure = failure;
  }
}

/**
 * pac-resolver's rewrite of a PAC (degenerator: every call to an async PAC function awaited, every
 * function calling one made async), run in a worker thread. It is plain JavaScript on Node's side of
 * the sandbox, and superlinear: it repeats a pass over the whole script for each function it marks
 * (a 30 KB chain of functions took 63 s on the main thread). In a worker, a hostile script costs at
 * most `timeoutMs` and `REWRITE_MEMORY_MB`, and the event loop never waits on it. The main thread then
 * repeats the rewrite with no names, a single linear pass over code that already has its `await`s.
 */
export function rewritePac(text: string, names: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./pac-rewrite-worker.js', import.meta.url), {
      workerData: { text, names: [...names] },
      resourceLimits: { maxOldGenerationSizeMb: REWRITE_MEMORY_MB, maxYoungGenerationSizeMb: 16 },
      // The rewrite needs none of the parent's `--import`/`--require` hooks (the safety net's register among them).
      execArgv: [],
      env: {},
    });
    let settled = false;
    // Settled once the worker has stopped: a thread still tearing down would slow the PAC's first call.
    const end = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.terminate().then(settle, settle);
    };
    const timer = setTimeout(() => end(() => reject(new RewriteError('timeout', `its rewrite ran past ${timeoutMs} ms`))), timeoutMs);
    worker.once('message', (m: { code?: string; error?: string }) =>
      end(() => (typeof m.code === 'string' ? resolve(m.code) : reject(new RewriteError('compile', m.error ?? 'no code')))),
    );
    worker.once('error', (error: Error & { code?: string }) =>
      end(() => reject(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new RewriteError('memory', `its rewrite ran out of its ${REWRITE_MEMORY_MB} MiB`) : new RewriteError('compile', `${error.name}: ${error.message}`))),
    );
    worker.once('exit', (code) => end(() => reject(new RewriteError('compile', `the rewrite stopped (exit code ${code})`))));
  });
}
