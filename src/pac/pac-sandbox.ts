import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { QuickJS } from 'quickjs-wasi';
import { printable } from '../debug.js';
import { bridgeScript, type HostFunction } from './pac-bridge.js';
import { pacFunctions } from './pac-functions.js';
import { PacEvaluationError, type PacFailure } from './errors.js';
import { rewritePac, type RewriteError } from './pac-rewrite.js';

/** Bounds on one PAC: a call that loops or allocates without end is stopped and becomes a typed error. */
export interface PacLimits {
  /** Wall time for one `FindProxyForURL` call, DNS lookups included. */
  callTimeoutMs: number;
  /** Wall time for loading: the rewrite (in a worker thread), parsing the script and running its top level. */
  loadTimeoutMs: number;
  /** QuickJS heap for this PAC. */
  memoryBytes: number;
}

export const DEFAULT_PAC_LIMITS: PacLimits = { callTimeoutMs: 1000, loadTimeoutMs: 5000, memoryBytes: 32 * 1024 * 1024 };

type FindProxy = (url: string, host: string) => Promise<unknown>;

// Node's WebAssembly global; @types/node leaves its types to the DOM lib, which this project does not load.
type WasmModule = object;
const wasmApi = Reflect.get(globalThis, 'WebAssembly') as { compile(bytes: Uint8Array): Promise<WasmModule> };
let wasm: Promise<WasmModule> | undefined;

/** QuickJS's WebAssembly module, compiled once per process (each PAC instance gets its own memory). */
function quickjsModule(): Promise<WasmModule> {
  wasm ??= readFile(createRequire(import.meta.url).resolve('quickjs-wasi/quickjs.wasm')).then((bytes) => wasmApi.compile(bytes));
  return wasm;
}

/** One QuickJS instance running the script. */
interface Instance {
  vm: QuickJS;
  find: FindProxy;
  /** Read by the interrupt handler: the running call's deadline, Infinity between calls. */
  clock: { deadline: number };
  /** Closed once a call overran: host answers are then withheld, parking the script. */
  gate: { open: boolean };
  /** Ends the running call with this error (an overrun noticed in a host answer or while the script resumed). */
  fail: { call: (error: unknown) => void };
}

/**
 * A PAC file compiled inside QuickJS (WebAssembly): the script sees the standard PAC functions and
 * nothing of Node (no `require`, `process`, timers or file system); `node:vm`, which is not a security
 * boundary, is never used. Calls run one at a time, each under `limits`, and the script runs only
 * inside a call, before its deadline (pac-bridge.ts delivers host answers through that check).
 */
export class CompiledPac {
  readonly #pacUrl: string;
  /** The script as rewritten for the bridge (calls to async PAC functions awaited), kept for a replacement instance. */
  readonly #text: string;
  readonly #limits: PacLimits;
  readonly #onAlert: (message: string) => void;
  #instance: Instance;
  /** Set when a call overran (time or memory): the next call gets a fresh instance. */
  #parked = false;
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;

  private constructor(pacUrl: string, text: string, limits: PacLimits, onAlert: (message: string) => void, instance: Instance) {
    this.#pacUrl = pacUrl;
    this.#text = text;
    this.#limits = limits;
    this.#onAlert = onAlert;
    this.#instance = instance;
  }

  static async compile(pacUrl: string, text: string, limits: PacLimits = DEFAULT_PAC_LIMITS, onAlert: (message: string) => void = () => undefined): Promise<CompiledPac> {
    const started = Date.now();
    // QuickJS compiles (and V8 tiers it up) while the worker rewrites.
    void quickjsModule().catch(() => undefined);
    let rewritten: string;
    try {
      rewritten = await rewritePac(text, await asyncNames(), limits.loadTimeoutMs);
    } catch (error) {
      const { failure, message } = error as RewriteError;
      const detail = { compile: `does not compile: ${message}`, timeout: `ran past its ${limits.loadTimeoutMs} ms limit while loading (${message})`, memory: `ran out of memory while loading (${message})` }[failure];
      throw new PacEvaluationError(pacUrl, failure, detail, { cause: error });
    }
    // The rewrite and the top level share the load bound.
    const left = Math.max(0, limits.loadTimeoutMs - (Date.now() - started));
    return new CompiledPac(pacUrl, rewritten, limits, onAlert, await instantiate(pacUrl, rewritten, limits, onAlert, left));
  }

  /** `FindProxyForURL(url, host)`'s raw result; a typed error when the script fails or overruns. */
  findProxy(url: string, host: string): Promise<unknown> {
    if (this.#disposed) return Promise.reject(new PacEvaluationError(this.#pacUrl, 'threw', 'was asked after it was unloaded'));
    const started = this.#queue.then(async () => {
      if (this.#parked) await this.#replaceInstance();
      return this.#start(url, host);
    });
    // The next call waits until this one's script has stopped (or been parked), not merely until its caller got an answer.
    this.#queue = started.then((s) => s.done, () => undefined);
    return started.then((s) => s.answer);
  }

  /** Frees the QuickJS instance once the calls already queued have ended. */
  dispose(): void {
    this.#disposed = true;
    void this.#queue.then(() => this.#instance.vm.dispose());
  }

  async #replaceInstance(): Promise<void> {
    const old = this.#instance;
    this.#instance = await instantiate(this.#pacUrl, this.#text, this.#limits, this.#onAlert, this.#limits.loadTimeoutMs);
    this.#parked = false;
    // Safe: the old script waits on answers that never come, so nothing calls into this instance again.
    old.vm.dispose();
  }

  #start(url: string, host: string): { answer: Promise<unknown>; done: Promise<void> } {
    const { clock, gate, fail, find } = this.#instance;
    const ms = this.#limits.callTimeoutMs;
    clock.deadline = Date.now() + ms;
    let timer: NodeJS.Timeout | undefined;
    // Three ways a call ends early, whichever comes first: the interrupt stops a script that computes
    // (its promise rejects); a host answer arriving past the deadline, or an interrupt while the
    // script resumes from a host answer, fails it through `fail`; the timer, one that waits (on DNS).
    // In each the script is parked for good (host answers withheld) and this instance replaced.
    const overrun = new Promise<never>((_, reject) => {
      const end = (error: unknown): void => {
        gate.open = false;
        this.#parked = true;
        reject(this.#error(error));
      };
      fail.call = end;
      timer = setTimeout(() => end(new Error('interrupted: no answer')), ms);
    });
    const work = find(url, host);
    const answer = Promise.race([work, overrun]).catch((error: unknown) => {
      throw this.#error(error);
    });
    // After an interrupt or out-of-memory the instance's job queue and heap are in no known state (an
    // interrupted job's chain never settles, another may loop on): the next call gets a fresh instance.
    const settled = work.then(
      () => undefined,
      (error: unknown) => {
        if (failureOf(error, 'threw') !== 'threw') {
          gate.open = false;
          this.#parked = true;
        }
      },
    );
    const done = Promise.race([settled, overrun.catch(() => undefined)]).finally(() => {
      clearTimeout(timer);
      clock.deadline = Number.POSITIVE_INFINITY;
      fail.call = ignore;
    });
    return { answer, done };
  }

  #error(error: unknown): PacEvaluationError {
    if (error instanceof PacEvaluationError) return error;
    const failure = failureOf(error, 'threw');
    return new PacEvaluationError(this.#pacUrl, failure, describe(failure, this.#limits, error, 'in FindProxyForURL'), { cause: error });
  }
}

function ignore(): void {}

/** The PAC functions that answer asynchronously (DNS): the rewrite awaits calls to these. */
async function asyncNames(): Promise<string[]> {
  const resolver = await import('pac-resolver');
  const all = pacFunctions(resolver.sandbox as never, () => false);
  return Object.keys(all).filter((name) => all[name]?.constructor.name === 'AsyncFunction');
}

/** A QuickJS instance running `text`, already rewritten by `rewritePac`; its top level bounded by `loadMs`. */
async function instantiate(pacUrl: string, text: string, limits: PacLimits, onAlert: (message: string) => void, loadMs: number): Promise<Instance> {
  const [{ QuickJS }, resolver, module] = await Promise.all([import('quickjs-wasi'), import('pac-resolver'), quickjsModule()]);
  const clock = { deadline: Number.POSITIVE_INFINITY };
  const gate = { open: true };
  const fail = { call: ignore as (error: unknown) => void };
  const vm = await QuickJS.create({ wasm: module as never, memoryLimit: limits.memoryBytes, interruptHandler: () => Date.now() > clock.deadline });
  const functions: Record<string, HostFunction> = {
    ...pacFunctions(resolver.sandbox as never, () => Date.now() > clock.deadline),
    alert: (message?: unknown): void => onAlert(clip(String(message ?? ''), ALERT_MAX)),
  };
  const guard = {
    open: (): boolean => {
      // Between calls no answer is delivered: a chain the script left running (`Promise.resolve().then(f)`)
      // would otherwise resume with no deadline at all, and a loop there would hold the process for good.
      if (!gate.open || clock.deadline === Number.POSITIVE_INFINITY) return false;
      if (Date.now() <= clock.deadline) return true;
      fail.call(new Error('interrupted: a host answer came after the deadline'));
      return false;
    },
    fail: (error: unknown): void => fail.call(error),
  };
  // The script's top level runs while it loads, under its own bound.
  clock.deadline = Date.now() + loadMs;
  try {
    const find = bridgeScript(vm, text, functions, guard);
    return { vm, find, clock, gate, fail };
  } catch (error) {
    vm.dispose();
    const failure = failureOf(error, 'compile');
    const detail = failure === 'compile' ? `does not compile: ${messageOf(error)}` : describe(failure, limits, error, 'while loading');
    throw new PacEvaluationError(pacUrl, failure, detail, { cause: error });
  } finally {
    clock.deadline = Number.POSITIVE_INFINITY;
  }
}

function describe(failure: PacFailure, limits: PacLimits, error: unknown, where: string): string {
  if (failure === 'timeout') return `ran past its ${where === 'while loading' ? limits.loadTimeoutMs : limits.callTimeoutMs} ms limit ${where}`;
  if (failure === 'memory') return `ran out of its ${limits.memoryBytes >> 20} MiB of memory ${where}`;
  return `threw ${where}: ${messageOf(error)}`;
}

/** An `alert()` text longer than this is cut: it goes to a debug line. */
const ALERT_MAX = 1000;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** What the script threw, as it can appear in an error message: short, one line, no escape sequence. */
function messageOf(error: unknown): string {
  return printable(clip(error instanceof Error ? `${error.name}: ${error.message}` : String(error), 200));
}

function failureOf(error: unknown, otherwise: PacFailure): PacFailure {
  const text = messageOf(error);
  if (/interrupted/i.test(text)) return 'timeout';
  if (/out of memory/i.test(text)) return 'memory';
  return otherwise;
}
