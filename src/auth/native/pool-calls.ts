/**
 * The native calls this thread has running on libuv's pool. koffi writes a call's results back into
 * this thread's memory when the call returns, which a worker thread torn down before that (the safety
 * net's thread stopped while a token is made) no longer has. So a thread about to end waits for them
 * first: `poolCallsSettled`.
 */
let running = 0;
const idle = new Set<() => void>();

/** Runs `fn` through koffi's async call and resolves with its result; counted while it runs. */
export function onPoolThread(fn: { async: (...args: unknown[]) => void }, ...args: unknown[]): Promise<number> {
  running++;
  return new Promise<number>((resolve, reject) => {
    fn.async(...args, (error: unknown, result: number) => {
      if (--running === 0) for (const wake of idle) wake();
      if (error) reject(error);
      else resolve(result);
    });
  });
}

/** Resolves true once no native call of this thread runs on the pool, or false after `timeoutMs`. */
export function poolCallsSettled(timeoutMs: number): Promise<boolean> {
  if (running === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      idle.delete(wake);
      resolve(true);
    };
    const timer = setTimeout(() => {
      idle.delete(wake);
      resolve(false);
    }, timeoutMs);
    idle.add(wake);
  });
}
