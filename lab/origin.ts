import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';

/** What an origin saw of one request: what tests use to prove no proxy secret reached it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface EchoReply extends SeenRequest {
  bodyBytes: number;
  bodySha256: string;
  tls: boolean;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Origin {
  /** e.g. `http://127.0.0.1:43127` */
  url: string;
  port: number;
  seen: SeenRequest[];
  /** Serves paths under `prefix` with `handler` (a stand-in for some API) instead of the echo. */
  mount(prefix: string, handler: Handler): void;
  close(): Promise<void>;
}

/**
 * Routes:
 * - `/bytes/<n>`: n bytes of a fixed pattern (download tests);
 * - `/delay/<ms>`: answers after ms (timeout and abort tests);
 * - `/redirect?to=<url>`: a 302 to `to`;
 * - `/negotiate-401`: a 401 offering Negotiate, as an origin that wants Kerberos itself would;
 * - an `Upgrade: websocket` to `/ws...`: a WebSocket echo (see `echoWebSockets`);
 * - anything else: a JSON echo of the request, with the body's length and SHA-256.
 */
function handle(tls: boolean, seen: SeenRequest[], mounts: Map<string, Handler>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    seen.push({ method: req.method ?? '', url, headers: { ...req.headers } });
    const path = url.split('?')[0] ?? '/';
    for (const [prefix, handler] of mounts) {
      if (path.startsWith(prefix)) {
        handler(req, res);
        return;
      }
    }
    const bytes = /^\/bytes\/(\d+)$/.exec(path);
    const delay = /^\/delay\/(\d+)$/.exec(path);
    if (bytes) {
      req.resume();
      sendPattern(res, Number(bytes[1]));
    } else if (delay) {
      req.resume();
      const timer = setTimeout(() => res.end('late'), Number(delay[1]));
      res.on('close', () => clearTimeout(timer));
    } else if (path === '/redirect') {
      req.resume();
      const to = new URL(url, 'http://x').searchParams.get('to') ?? '/';
      res.writeHead(302, { location: to }).end();
    } else if (path === '/negotiate-401') {
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Negotiate' }).end('origin wants its own auth');
    } else {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (chunk: Buffer) => {
        n += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        const reply: EchoReply = { method: req.method ?? '', url, headers: req.headers, bodyBytes: n, bodySha256: hash.digest('hex'), tls };
        const body = JSON.stringify(reply);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      });
    }
  };
}

/** The byte at offset i of every `/bytes/<n>` answer: lets a test check a download without storing it. */
export function patternByte(i: number): number {
  return i % 251;
}

const CHUNK = Buffer.from(Array.from({ length: 251 * 256 }, (_, i) => patternByte(i)));

function sendPattern(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      const n = Math.min(CHUNK.length, total - sent);
      sent += n;
      // CHUNK's length is a multiple of 251, so every slice starts the pattern at offset 0.
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

/**
 * WebSocket upgrades to `/ws...` become an echo: every message comes back as sent (text as text, binary
 * as binary). The upgrade request is recorded in `seen` like any other. Returns what closes them.
 */
function echoWebSockets(server: Server, seen: SeenRequest[]): () => void {
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<Socket>();
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = req.url ?? '/';
    seen.push({ method: req.method ?? '', url, headers: { ...req.headers } });
    if (!url.startsWith('/ws') || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  // Upgraded sockets are no longer the HTTP server's: closeAllConnections() does not reach them.
  return () => {
    for (const socket of sockets) socket.destroy();
    wss.close();
  };
}

async function listen(server: Server, tls: boolean, host: string, seen: SeenRequest[], mounts: Map<string, Handler>): Promise<Origin> {
  const closeWebSockets = echoWebSockets(server, seen);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    seen,
    mount: (prefix, handler) => void mounts.set(prefix, handler),
    close: () =>
      new Promise((resolve) => {
        closeWebSockets();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function startHttpOrigin(host = '127.0.0.1'): Promise<Origin> {
  const seen: SeenRequest[] = [];
  const mounts = new Map<string, Handler>();
  return listen(createHttpServer(handle(false, seen, mounts)), false, host, seen, mounts);
}

export function startHttpsOrigin(cert: { key: string; cert: string }, host = '127.0.0.1'): Promise<Origin> {
  const seen: SeenRequest[] = [];
  const mounts = new Map<string, Handler>();
  return listen(createHttpsServer({ key: cert.key, cert: cert.cert }, handle(true, seen, mounts)), true, host, seen, mounts);
}
