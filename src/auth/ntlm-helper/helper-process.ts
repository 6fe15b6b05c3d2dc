import { spawn, type ChildProcess } from 'node:child_process';

/** What the helper did, in the order it happened: a line on stdout, or its end. */
export type HelperEvent = { readonly type: 'line'; readonly line: string } | { readonly type: 'gone'; readonly why: string };

/**
 * The variables a helper gets: what finds programs, libraries, files, winbindd's socket and locales.
 * Nothing else (no proxy URL, no password).
 */
const PASSED_ON = /^(PATH|HOME|USER|LOGNAME|LANG|LC_[A-Z]+|TZ|TMPDIR|WINBINDD_SOCKET_DIR|LD_LIBRARY_PATH|DYLD_LIBRARY_PATH|DYLD_FALLBACK_LIBRARY_PATH)$/;

/** Longest stderr kept (its end): enough for the reason, never unbounded. */
const MAX_STDERR = 8_192;

/**
 * One line-protocol helper process (ntlm_auth): its answer lines in order, its stderr, and a kill that
 * always works. Holds no reference to whoever reads it, so an owner forgotten without `kill()` can
 * still be collected and its finalizer kill this (`ntlm-auth-context.ts`). Unreferenced: an idle helper
 * never keeps Node running; a reader waiting for it holds its own timer.
 */
export class HelperProcess {
  readonly #child: ChildProcess;
  readonly #events: HelperEvent[] = [];
  #wake: (() => void) | undefined;
  #partial = '';
  #stderr = '';
  #gone = false;

  constructor(binary: string, args: readonly string[], env: NodeJS.ProcessEnv) {
    const childEnv = Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== undefined && PASSED_ON.test(k)));
    this.#child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv, windowsHide: true });
    const { stdin, stdout, stderr } = this.#child;
    stdout?.setEncoding('utf8');
    stderr?.setEncoding('utf8');
    stdout?.on('data', (chunk: string) => {
      const parts = (this.#partial + chunk).split('\n');
      this.#partial = parts.pop() ?? '';
      for (const line of parts) this.#push({ type: 'line', line });
    });
    stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-MAX_STDERR);
    });
    // A write to a helper that died is EPIPE here; its exit says the rest. A read error ends it.
    stdin?.on('error', () => undefined);
    for (const stream of [stdout, stderr]) stream?.on('error', (error: NodeJS.ErrnoException) => this.kill(`could not be read (${error.code ?? error.message})`));
    this.#child.once('error', (error: NodeJS.ErrnoException) => this.#end(`could not be started (${error.code ?? error.message})`));
    this.#child.once('close', (code: number | null, signal: NodeJS.Signals | null) => this.#end(signal ? `was ended by ${signal}` : `exited with code ${code}`));
    this.#child.unref();
    // The pipes are sockets: unreferenced too, or they alone would keep the process running.
    for (const stream of [stdin, stdout, stderr]) if (stream && 'unref' in stream && typeof stream.unref === 'function') stream.unref();
  }

  /** The process id, while it runs. */
  get pid(): number | undefined {
    return this.#gone ? undefined : this.#child.pid;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Sends one line (with its newline). */
  write(line: string): void {
    if (!this.#gone) this.#child.stdin?.write(line);
  }

  /** The next event: a line already read, or the next one to come. */
  async next(): Promise<HelperEvent> {
    while (this.#events.length === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
    const event = this.#events[0] as HelperEvent;
    // The end stays at the head: every later read sees it too.
    if (event.type === 'line') this.#events.shift();
    return event;
  }

  /** Ends the process now (SIGKILL: it holds nothing to flush), once; safe at any time. */
  kill(why = 'was stopped'): void {
    if (this.#gone) return;
    this.#end(why);
    this.#child.stdin?.destroy();
    this.#child.kill('SIGKILL');
  }

  #push(event: HelperEvent): void {
    this.#events.push(event);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #end(why: string): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#push({ type: 'gone', why });
  }
}
