import type { JSValueHandle, QuickJS } from 'quickjs-wasi';

/** A PAC function on Node's side: called with the script's (primitive) arguments. */
export type HostFunction = (...args: unknown[]) => unknown;

/** How the bridge hands answers back to a call, and how it ends one that overran. */
export interface CallGuard {
  /** False once the running call overran (or was parked): an answer is then withheld, parking the script. */
  open(): boolean;
  /** Ends the running call with `error`: the script failed while resuming from a host answer. */
  fail(error: unknown): void;
}

/**
 * The calls between Node and the script in QuickJS, in place of degenerator's `compile` (pac-resolver's
 * bridge) for three reasons. Its host-promise callback resumes the script (`executePendingJobs`) and
 * lets what that throws, the QuickJS interrupt at the time limit or out-of-memory, escape as an
 * unhandled rejection, which ends the process: here it ends the call through `guard.fail`. A host answer
 * is delivered only while `guard.open()`, so none lands in a script past its deadline. And it ran
 * degenerator's rewrite again on the main thread, which `rewritePac` now does in a worker.
 *
 * Only primitives cross, both ways: a host function refuses an object argument (its `toString` would
 * be the script's code), and an object the script returns is reported as such, never copied out.
 */
export function bridgeScript(vm: QuickJS, code: string, functions: Record<string, HostFunction>, guard: CallGuard): (url: string, host: string) => Promise<unknown> {
  for (const [name, fn] of Object.entries(functions)) {
    const handle = vm.newFunction(name, (...args: JSValueHandle[]) => toHandle(vm, fn(...args.map((a) => primitive(vm, a, name))), guard));
    try {
      vm.setProp(vm.global, name, handle);
    } finally {
      handle.dispose();
    }
  }
  const find = vm.evalCode(`${code};FindProxyForURL`, 'proxy.pac');
  const type = vm.typeof(find);
  if (type !== 'function') {
    find.dispose();
    throw new TypeError(`Expected a "function" named \`FindProxyForURL\` to be defined, but got "${type}"`);
  }
  return async (url, host) => {
    let promise: JSValueHandle | undefined;
    let result: JSValueHandle | undefined;
    const args: JSValueHandle[] = [];
    try {
      // The URL as pac-resolver gave it: parsed, so a default port is dropped.
      args.push(vm.newString(new URL(url).href), vm.newString(host));
      promise = vm.callFunction(find, vm.undefined, ...args);
      const settled = vm.resolvePromise(promise);
      vm.executePendingJobs();
      const outcome = await settled;
      if ('error' in outcome) {
        const error = thrown(vm, outcome.error);
        outcome.error.dispose();
        throw error;
      }
      result = outcome.value;
      if (result.isNull) return null;
      const kind = vm.typeof(result);
      if (kind === 'symbol') return Symbol('from the PAC');
      return PRIMITIVES.has(kind) ? vm.dump(result) : OBJECT;
    } catch (error) {
      throw plain(error);
    } finally {
      for (const a of args) a.dispose();
      promise?.dispose();
      result?.dispose();
    }
  };
}

/** What an object returned by the script becomes on Node's side: never the object itself. */
export const OBJECT: object = Object.freeze(Object.create(null) as object);

const PRIMITIVES = new Set(['string', 'number', 'boolean', 'undefined', 'bigint']);

function primitive(vm: QuickJS, handle: JSValueHandle, name: string): unknown {
  if (handle.isNull) return null;
  if (!PRIMITIVES.has(vm.typeof(handle))) throw new TypeError(`${name}() takes strings and numbers, not an object`);
  return vm.dump(handle);
}

/**
 * A QuickJS exception as a plain Error (name and message, read when it was thrown, under the time
 * limit): the live guest value it holds is released, so nothing that prints or inspects the error
 * later can run the script's getters outside its bounds.
 */
function plain(error: unknown): unknown {
  if (!(error instanceof Error) || !('handle' in error)) return error;
  const copy = new Error(error.message);
  copy.name = error.name;
  (error as { dispose?: () => void }).dispose?.();
  return copy;
}

/** What the script threw, as a host Error: an Error's fields, a primitive's text, never a copied object. */
function thrown(vm: QuickJS, handle: JSValueHandle): Error {
  if (handle.isError) {
    const e = vm.dump(handle);
    if (e instanceof Error) return e;
  }
  if (!handle.isNull && !PRIMITIVES.has(vm.typeof(handle))) return new Error('an object that is not an Error');
  return new Error(String(vm.dump(handle)));
}

function toHandle(vm: QuickJS, value: unknown, guard: CallGuard): JSValueHandle {
  if (value === undefined) return vm.undefined;
  if (value === null) return vm.null;
  if (typeof value === 'string') return vm.newString(value);
  if (typeof value === 'number') return vm.newNumber(value);
  if (typeof value === 'boolean') return value ? vm.true : vm.false;
  if (value instanceof Promise) {
    const deferred = vm.newPromise();
    const settle = (how: 'resolve' | 'reject', answer: unknown): void => {
      if (!guard.open()) return;
      try {
        const handle = how === 'resolve' ? toHandle(vm, answer, guard) : vm.newError(answer instanceof Error ? answer.message : String(answer));
        deferred[how](handle);
        handle.dispose();
        vm.executePendingJobs();
      } catch (error) {
        guard.fail(error);
      }
    };
    value.then(
      (answer: unknown) => settle('resolve', answer),
      (error: unknown) => settle('reject', error),
    );
    return deferred.handle;
  }
  throw new TypeError(`a PAC function gave ${typeof value}, not a string, number or boolean`);
}
