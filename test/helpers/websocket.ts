import { WebSocket as UndiciWebSocket, type Dispatcher } from 'undici';
import WsWebSocket from 'ws';
import type { Agent } from 'node:http';

/** What every WebSocket row sends, and what an echo must give back in order. */
export const WS_MESSAGES: ReadonlyArray<string | Buffer> = ['hello through the proxy', Buffer.from([0, 1, 2, 253, 254, 255])];
export const WS_EXPECTED: ReadonlyArray<[string, boolean]> = [
  ['hello through the proxy', false],
  ['000102fdfeff', true],
];

/** Bound on one echo exchange, its close included: a tunnel that never opens fails the row instead of hanging it. */
const ECHO_LIMIT_MS = 10_000;

function bounded<T>(what: string, run: (resolve: (v: T) => void, reject: (e: unknown) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cleanup = (): void => undefined;
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no echo within ${ECHO_LIMIT_MS} ms`));
    }, ECHO_LIMIT_MS);
    cleanup = run(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** undici's WebSocket over `dispatcher`: sends WS_MESSAGES, returns the echoes as [text or hex, binary]. */
export function undiciEcho(url: string, dispatcher: Dispatcher): Promise<Array<[string, boolean]>> {
  return bounded(`undici WebSocket ${url}`, (resolve, reject) => {
    const ws = new UndiciWebSocket(url, { dispatcher });
    ws.binaryType = 'arraybuffer';
    const got: Array<[string, boolean]> = [];
    ws.addEventListener('open', () => {
      for (const m of WS_MESSAGES) ws.send(m);
    });
    ws.addEventListener('message', (event) => {
      const data: unknown = event.data;
      got.push(typeof data === 'string' ? [data, false] : [Buffer.from(data as ArrayBuffer).toString('hex'), true]);
      if (got.length === WS_MESSAGES.length) ws.close();
    });
    ws.addEventListener('error', (event) => {
      // undici's is an ErrorEvent (error, message); the type says Event.
      const error = 'error' in event ? event.error : undefined;
      const message = 'message' in event && typeof event.message === 'string' ? event.message : '';
      reject(new Error(`undici WebSocket ${url} failed: ${message || String(error)}`, { cause: error }));
    });
    // Settled on close, not on the last echo: the connection (the proxy's tunnel) is then gone, and the
    // proxy's log line for it is written, so what a test checks next is already there.
    ws.addEventListener('close', (event) => {
      if (got.length < WS_MESSAGES.length) reject(new Error(`undici WebSocket ${url} closed (${event.code}) after ${got.length} echoes`));
      else resolve(got);
    });
    return () => ws.close();
  });
}

/** The `ws` package, with a node:http(s) agent if given: sends WS_MESSAGES, returns the echoes. */
export function wsEcho(url: string, agent?: Agent, ca?: string): Promise<Array<[string, boolean]>> {
  return bounded(`ws ${url}`, (resolve, reject) => {
    const ws = new WsWebSocket(url, { ...(agent && { agent }), ...(ca && { ca }) });
    const got: Array<[string, boolean]> = [];
    ws.once('open', () => {
      for (const m of WS_MESSAGES) ws.send(m);
    });
    ws.on('message', (data: Buffer, isBinary) => {
      got.push([isBinary ? data.toString('hex') : data.toString('utf8'), isBinary]);
      if (got.length === WS_MESSAGES.length) ws.close();
    });
    ws.once('error', reject);
    // Settled once the socket has closed (see undiciEcho).
    ws.once('close', (code) => {
      if (got.length < WS_MESSAGES.length) reject(new Error(`ws ${url} closed (${code}) after ${got.length} echoes`));
      else resolve(got);
    });
    return () => ws.terminate();
  });
}

/** `http://127.0.0.1:1234` → `ws://127.0.0.1:1234`, `https:` → `wss:`. */
export function wsUrl(originUrl: string, path: string): string {
  return originUrl.replace(/^http/, 'ws') + path;
}
