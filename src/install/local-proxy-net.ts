/**
 * The safety net of the global install (`install({ localProxy: true })`, `JAATO_LOCAL_PROXY=true`):
 * the local authenticating proxy, started inside this process, and this process's proxy variables
 * pointed at it. Libraries that read `HTTPS_PROXY` themselves and build agents of their own (Azure
 * core, axios) and every child process (git, curl, pip, npm) then reach the real proxy through it,
 * with a fresh Negotiate token per upstream connection, and need no Kerberos of their own.
 */
import { Worker } from 'node:worker_threads';
import { InvalidOptionError } from '../config/errors.js';
import { parseKerberosFlag, type Env } from '../config/env.js';
import { debug } from '../debug.js';
import { isErrorCode, JaatoProxyError } from '../errors.js';
import { redactUrl } from '../redact.js';
import type { LocalProxyOptions } from '../server/local-proxy.js';
import { newClientCredential, withCredential } from '../server/client-credential.js';
import type { SerializedError, WorkerInput, WorkerMessage } from './local-proxy-worker.js';
import { routingOptions } from '../transport/options.js';
import { routingFor } from '../routing/routing.js';
import type { ProxyDispatcherOptions } from '../adapters/undici/proxy-dispatcher.js';

/** The proxy variables children and self-routing libraries read: all four spellings point at the local proxy. */
const POINTED = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'] as const;

/**
 * Removed while the net is up. The Kerberos ones describe how to authenticate to the real proxy, and
 * the local one takes none of that: a child running jaato-proxy itself (NODE_OPTIONS=--import
 * jaato-proxy/register) would otherwise send a Negotiate token for `HTTP@127.0.0.1` to the loopback
 * proxy, and fail. ALL_PROXY may carry the real proxy's password, which stays in this process; the
 * four variables above cover http and https, all the local proxy serves. JAATO_PAC_URL: the local
 * proxy follows the PAC; a jaato-proxy child would otherwise follow it too, past the local proxy,
 * without the Kerberos settings removed above.
 */
const REMOVED = ['JAATO_KERBEROS_PROXY', 'JAATO_KERBEROS_SPN', 'ALL_PROXY', 'all_proxy', 'JAATO_PAC_URL'] as const;

/** Names the local proxy's URL, so `jaato-proxy explain` in a child can say what HTTPS_PROXY is. */
export const LOCAL_PROXY_URL_VARIABLE = 'JAATO_LOCAL_PROXY_URL';

/** `JAATO_LOCAL_PROXY`: true/1/yes on, false/0/no/unset off; anything else is a configuration error (not a silent off). */
export function localProxyRequested(env: Env = process.env): boolean {
  const value = env.JAATO_LOCAL_PROXY;
  const flag = parseKerberosFlag(value, 'JAATO_LOCAL_PROXY');
  if (flag.warning) throw new InvalidOptionError('JAATO_LOCAL_PROXY', `"${value}" is not one of true/1/yes or false/0/no (it turns on the in-process local proxy for self-routing clients and child processes)`);
  return flag.enabled;
}

/** What the net changed in the environment, as it may be shown: values stay private (they carry credentials). */
export interface EnvironmentChange {
  variable: string;
  action: 'set' | 'removed';
}

/** A change with its values, to apply and undo (never exposed: both sides may carry credentials). */
interface Change {
  variable: string;
  /** The value before (undefined: it was not set). */
  before: string | undefined;
  /** The value now (undefined: removed). */
  after: string | undefined;
}

/** The changes that point an environment at the local proxy at `url` (pure: applied by the caller). */
export function netChanges(env: Env, url: string): Change[] {
  const changes: Change[] = [];
  for (const variable of [...POINTED, LOCAL_PROXY_URL_VARIABLE]) changes.push({ variable, before: env[variable], after: url });
  for (const variable of REMOVED) if (env[variable] !== undefined) changes.push({ variable, before: env[variable], after: undefined });
  return changes;
}

function shown(changes: readonly Change[]): EnvironmentChange[] {
  return changes.map((c) => ({ variable: c.variable, action: c.after === undefined ? 'removed' : 'set' }));
}

/** The origin of the local proxy that `JAATO_LOCAL_PROXY_URL` names, if it is set and parses. */
function parentLocalProxy(env: Env): string | undefined {
  try {
    const value = env[LOCAL_PROXY_URL_VARIABLE];
    return value ? new URL(value).origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * For `jaato-proxy explain`: a line saying that `proxy` (as explain shows it) is the in-process local
 * proxy of a program under the safety net, when it is; the environment alone shows just a loopback URL.
 */
export function localProxyNote(env: Env, proxy: string | null): string | undefined {
  const parent = parentLocalProxy(env);
  if (!parent || !proxy || new URL(proxy).origin !== parent) return undefined;
  return `the in-process local proxy of a program run with JAATO_LOCAL_PROXY (or install({ localProxy: true })): it authenticates to that program's real proxy, so this process needs no Kerberos of its own; the per-process credential it asks for is in the proxy URL this process inherited (${LOCAL_PROXY_URL_VARIABLE})`;
}

function apply(target: NodeJS.ProcessEnv, changes: readonly Change[], side: 'before' | 'after'): void {
  for (const change of changes) {
    const value = change[side];
    if (value === undefined) delete target[change.variable];
    else target[change.variable] = value;
  }
}

/** The running net: the local proxy, and how to put the environment back. */
export interface SafetyNet {
  /** The local proxy's URL with its credential redacted, e.g. `http://****:****@127.0.0.1:40111/` (the real one is in `process.env`). */
  readonly url: string;
  /** Which variables were set or removed in `process.env`. */
  readonly changes: readonly EnvironmentChange[];
  /** Puts every variable back exactly (an unset one unset again) and stops the local proxy. */
  stop(): Promise<void>;
}

/**
 * Starts the local proxy on a free 127.0.0.1 port, on a worker thread (so a child started with
 * `execSync` while the main thread waits is still served), for loopback clients that send the random
 * per-process credential its URL carries, and points `process.env` at it. `options.env` must be the
 * remembered environment (the real upstream): the local proxy routes by it, never by the variables it
 * has just rewritten, so it cannot send requests to itself. The worker does not keep the process alive.
 * Undefined when no proxy is configured: there is nothing to hand on, and nothing is changed.
 */
export async function startSafetyNet(options: ProxyDispatcherOptions & { env: Env }): Promise<SafetyNet | undefined> {
  // The same source as every client: the options, the variables, or else the OS's settings.
  const { config, pac } = routingFor(options.env, routingOptions(options), options.pac);
  const upstream = { https: config.proxyFor('https:'), http: config.proxyFor('http:') };
  if (!upstream.https && !upstream.http && !pac) {
    debug('local proxy: not started, no proxy is configured (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, JAATO_PAC_URL or options)');
    return undefined;
  }
  // A child of a program under the net inherits JAATO_LOCAL_PROXY and variables naming the parent's
  // local proxy: that one already authenticates upstream, and a second in front of it would only add a hop.
  const parent = parentLocalProxy(options.env);
  if (!pac && parent && [upstream.https, upstream.http].every((p) => !p || p.origin === parent)) {
    debug('local proxy: not started, the proxy variables already name the local proxy of a parent process (%s)', parent);
    return undefined;
  }
  const credential = newClientCredential();
  const proxy = await startWorker({ ...options, host: '127.0.0.1', port: 0, allow: [], unref: true, clientCredential: credential });
  const real = withCredential(proxy.origin, credential);
  const redacted = redactUrl(new URL(real));
  const changes = netChanges(process.env, real);
  apply(process.env, changes, 'after');
  debug(
    'local proxy %s started on a worker thread for self-routing clients and child processes (upstream: %s; bypass lists kept: JAATO_NO_PROXY and NO_PROXY hosts go direct); set %s; removed %s',
    redacted,
    pac ? `PAC ${redactUrl(pac.url)} (${pac.source})` : `https ${upstream.https?.redacted ?? 'direct'}, http ${upstream.http?.redacted ?? 'direct'}${config.systemSource ? ` (${config.systemSource})` : ''}`,
    changes.filter((c) => c.after !== undefined).map((c) => c.variable).join(', '),
    changes.filter((c) => c.after === undefined).map((c) => c.variable).join(', ') || 'nothing',
  );
  let stopped = false;
  return {
    url: redacted,
    changes: shown(changes),
    async stop() {
      if (stopped) return;
      stopped = true;
      apply(process.env, changes, 'before');
      debug('local proxy %s stopped; %s restored', redacted, changes.map((c) => c.variable).join(', '));
      await proxy.stop();
    },
  };
}

/** The error a worker sent back: InvalidOptionError as such, other typed errors by their code (the class is not carried across). */
function revived(error: SerializedError): Error {
  if (error.code === 'ERR_JAATO_INVALID_OPTION' && error.option !== undefined) {
    return new InvalidOptionError(error.option, error.message.slice(error.option.length + 2));
  }
  if (isErrorCode(error.code)) return new JaatoProxyError(error.code, error.message);
  return new LocalProxyThreadError(error.message);
}

/** The in-process local proxy's thread failed (it could not start, or it stopped on an error of its own). */
export class LocalProxyThreadError extends JaatoProxyError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('ERR_JAATO_LOCAL_PROXY', `the in-process local proxy (install({ localProxy: true }), JAATO_LOCAL_PROXY) failed: ${reason}`, options);
  }
}

/** The local proxy on its worker thread: its origin (no credential), and how to stop it. */
async function startWorker(options: LocalProxyOptions): Promise<{ origin: string; stop(): Promise<void> }> {
  let worker: Worker;
  try {
    // Without the program's `--import jaato-proxy/register` and JAATO_LOCAL_PROXY: the thread must not
    // start a safety net of its own (one per thread, each waiting for the next).
    const { JAATO_LOCAL_PROXY: _, ...env } = process.env;
    worker = new Worker(new URL('./local-proxy-worker.js', import.meta.url), { workerData: { options } satisfies WorkerInput, execArgv: [], env });
  } catch (error) {
    // Structured clone refuses functions and native objects (proxyTls.secureContext, an Agent...).
    if (error instanceof Error && error.name === 'DataCloneError') {
      throw new InvalidOptionError('localProxy', `an option cannot be passed to the local proxy's thread (${error.message}): give plain values (strings, Buffers, numbers)`);
    }
    throw error;
  }
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const stopped = new Promise<void>((resolve) => worker.on('message', (m: WorkerMessage) => m.type === 'stopped' && resolve()));
  let listening = false;
  const origin = await new Promise<string>((resolve, reject) => {
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'listening') {
        listening = true;
        // Held until now (a program awaiting the start must not exit first); from here it serves the
        // program, and stops with it.
        worker.unref();
        resolve(m.url);
      } else if (m.type === 'failed') reject(revived(m.error));
    });
    worker.on('error', (error) => {
      const typed = new LocalProxyThreadError(error.message, { cause: error });
      if (!listening) return reject(typed);
      // Nothing awaits the running proxy: say so where a program hears of trouble, and in the debug log.
      debug('local proxy: %s', typed.message);
      process.emitWarning(typed);
    });
    void exited.then(() => reject(new LocalProxyThreadError('its thread exited before listening')));
  });
  return {
    origin,
    async stop() {
      worker.ref(); // until it has closed its connections: a program awaiting uninstall() must not exit first
      worker.postMessage({ type: 'stop' });
      // It says stopped once its connections are closed and its native calls have returned (10 s at
      // most), then ends by itself. Not terminated under running JavaScript: a native call made while
      // Node stops a thread gets arguments Node-API refused to convert (a crash, see gssapi-context.ts).
      // Terminated only if it has not ended within 30 s.
      if (await settlesWithin(Promise.race([stopped, exited]).then(() => exited), 30_000)) debug('local proxy thread ended by itself (exit code %d)', await exited);
      else {
        debug('local proxy thread still running 30 s after it was told to stop: terminated');
        await worker.terminate();
      }
    },
  };
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
