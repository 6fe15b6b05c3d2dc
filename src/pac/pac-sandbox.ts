import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { QuickJS } from 'quickjs-wasi';
import { EXTRA_PAC_FUNCTIONS } from './pac-functions.js';
import { PacEvaluationError, type PacFailure } from './errors.js';

/** Bounds on one PAC: a call that loops or allocates without end is stopped and becomes a typed error. */
export interface PacLimits {
  /** Wall time for one `FindProxyForURL` call, DNS lookups included. */
  callTimeoutMs: number;
  /** Wall time for parsing the script and running its top level. */
  loadTimeoutMs: number;
  /** QuickJS heap for this PAC. */
  memoryBytes: number;
}

export const DEFAULT_PAC_LIMITS: PacLimits = { callTimeoutMs: 1000, loadTimeoutMs: 5000, memoryBytes: 32 * 1024 * 1024 };

type FindProxy = (url: string, host: string) => Promise<unknown>;
type SandboxFunction = (...args: unknown[]) => unknown;

// Node's WebAssembly global; @types/node leaves its types to the DOM lib, which this project does not load.
type WasmModule = object;
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } };
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
  /** Closed once a call overran while waiting: host answers are then withheld, parking the script. */
  gate: { open: boolean };
}

const NEVER = new Promise<never>(() => undefined);

/**
 * A PAC file compiled inside QuickJS (WebAssembly): the script sees the standard PAC functions and
 * nothing of Node (no `require`, `process`, timers or file system); `node:vm`, which is not a security
 * boundary, is never used. Calls run one at a time, each under `limits`.
 */
export class CompiledPac {
  readonly #pacUrl: string;
  readonly #text: string;
  readonly #limits: PacLimits;
  readonly #onAlert: (message: string) => void;
  #instance: Instance;
  /** Set when a call overran while its script waited: the next call gets a fresh instance. */
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
    return new CompiledPac(pacUrl, text, limits, onAlert, await instantiate(pacUrl, text, limits, onAlert));
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
    this.#instance = await instantiate(this.#pacUrl, this.#text, this.#limits, this.#onAlert);
    this.#parked = false;
    // Safe: the old script waits on answers that never come, so nothing calls into this instance again.
    old.vm.dispose();
  }

  #start(url: string, host: string): { answer: Promise<unknown>; done: Promise<void> } {
    const { clock, gate, find } = this.#instance;
    const ms = this.#limits.callTimeoutMs;
    clock.deadline = Date.now() + ms;
    const work = find(url, host);
    let timer: NodeJS.Timeout | undefined;
    // The interrupt stops a script that computes; the timer, one that waits (on DNS) between steps:
    // that one is parked for good by withholding host answers, and this instance is replaced.
    const overrun = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        gate.open = false;
        this.#parked = true;
        reject(new PacEvaluationError(this.#pacUrl, 'timeout', describe('timeout', this.#limits, undefined, 'in FindProxyForURL')));
      }, ms);
    });
    const answer = Promise.race([work, overrun]).catch((error: unknown) => {
      if (error instanceof PacEvaluationError) throw error;
      const failure = failureOf(error, 'threw');
      throw new PacEvaluationError(this.#pacUrl, failure, describe(failure, this.#limits, error, 'in FindProxyForURL'), { cause: error });
    });
    const settled = work.then(() => undefined, () => undefined);
    const done = Promise.race([settled, overrun.catch(() => undefined)]).finally(() => {
      clearTimeout(timer);
      clock.deadline = Number.POSITIVE_INFINITY;
    });
    return { answer, done };
  }
}

async function instantiate(pacUrl: string, text: string, limits: PacLimits, onAlert: (message: string) => void): Promise<Instance> {
  const [{ QuickJS }, resolver, module] = await Promise.all([import('quickjs-wasi'), import('pac-resolver'), quickjsModule()]);
  const clock = { deadline: Number.POSITIVE_INFINITY };
  const gate = { open: true };
  const vm = await QuickJS.create({ wasm: module as never, memoryLimit: limits.memoryBytes, interruptHandler: () => Date.now() > clock.deadline });
  const sandbox: Record<string, SandboxFunction> = { ...(resolver.sandbox as unknown as Record<string, SandboxFunction>), ...(EXTRA_PAC_FUNCTIONS as Record<string, SandboxFunction>) };
  for (const [name, fn] of Object.entries(sandbox)) if (fn.constructor.name === 'AsyncFunction') sandbox[name] = gated(fn, gate);
  sandbox.alert = (message?: unknown): void => onAlert(String(message ?? ''));
  // The script's top level runs while it loads, under its own bound.
  clock.deadline = Date.now() + limits.loadTimeoutMs;
  try {
    const find = resolver.createPacResolver(vm, text, { filename: 'proxy.pac', sandbox: sandbox as never }) as FindProxy;
    return { vm, find, clock, gate };
  } catch (error) {
    vm.dispose();
    const failure = failureOf(error, 'compile');
    const detail = failure === 'compile' ? `does not compile: ${messageOf(error)}` : describe(failure, limits, error, 'while loading');
    throw new PacEvaluationError(pacUrl, failure, detail, { cause: error });
  } finally {
    clock.deadline = Number.POSITIVE_INFINITY;
  }
}

/** An async PAC function whose answer is withheld once the gate closes (pac-resolver awaits only async functions). */
function gated(fn: SandboxFunction, gate: { open: boolean }): SandboxFunction {
  return async (...args: unknown[]) => {
    if (!gate.open) return NEVER;
    const value = await fn(...args);
    return gate.open ? value : NEVER;
  };
}

function describe(failure: PacFailure, limits: PacLimits, error: unknown, where: string): string {
  if (failure === 'timeout') return `ran past its ${where === 'while loading' ? limits.loadTimeoutMs : limits.callTimeoutMs} ms limit ${where}`;
  if (failure === 'memory') return `ran out of its ${limits.memoryBytes >> 20} MiB of memory ${where}`;
  return `threw ${where}: ${messageOf(error)}`;
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function failureOf(error: unknown, otherwise: PacFailure): PacFailure {
  const text = messageOf(error);
  if (/interrupted/i.test(text)) return 'timeout';
  if (/out of memory/i.test(text)) return 'memory';
  return otherwise;
}
