/**
 * The safety net's local proxy, on a thread of its own: its event loop keeps answering while the
 * program's main thread is blocked, e.g. in `execSync('git clone ...')`, whose child needs it. Started
 * by local-proxy-net.ts with the remembered upstream configuration; stops when told to.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { debug } from '../debug.js';
import { JaatoProxyError } from '../errors.js';
import { InvalidOptionError } from '../config/errors.js';
import { startLocalProxy, type LocalProxy, type LocalProxyOptions } from '../server/local-proxy.js';
import { poolCallsSettled } from '../auth/native/pool-calls.js';

/** What the main thread sends the worker. */
export interface WorkerInput {
  options: LocalProxyOptions;
}

/** What the worker answers: listening (once), failed (instead), stopped (after a `stop`). */
export type WorkerMessage =
  | { type: 'listening'; url: string }
  | { type: 'failed'; error: SerializedError }
  | { type: 'stopped' };

/** A typed error across the thread boundary (structured clone keeps neither class nor code). */
export interface SerializedError {
  code?: string;
  option?: string;
  message: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof InvalidOptionError) return { code: error.code, option: error.option, message: error.message };
  if (error instanceof JaatoProxyError) return { code: error.code, message: error.message };
  return { message: error instanceof Error ? error.message : String(error) };
}

const port = parentPort;
if (port) {
  const { options } = workerData as WorkerInput;
  let proxy: LocalProxy | undefined;
  const log: LocalProxyOptions['log'] = (e) => debug('local proxy: %s %s %s %s %d %dB %dms', e.client, e.method, e.host, e.route, e.status, e.bytes, e.ms);
  port.on('message', (message: { type: 'stop' }) => {
    if (message.type !== 'stop') return;
    // Then the tokens still being made: koffi writes a native call's results into this thread when it
    // returns, so the thread is not ended under one (a call stuck in the library is waited for 10 s).
    void (proxy?.close() ?? Promise.resolve()).then(() => poolCallsSettled(10_000)).finally(() => {
      port.postMessage({ type: 'stopped' } satisfies WorkerMessage);
      port.close(); // the worker's last handle: it exits
    });
  });
  startLocalProxy({ ...options, log }).then(
    (started) => {
      proxy = started;
      port.postMessage({ type: 'listening', url: started.url } satisfies WorkerMessage);
    },
    (error: unknown) => {
      port.postMessage({ type: 'failed', error: serializeError(error) } satisfies WorkerMessage);
      port.close();
    },
  );
}
