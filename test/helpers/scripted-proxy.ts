import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type Reply = (head: string, socket: Socket, connection: number) => void;

export interface ScriptedProxy {
  server: Server;
  /** `http://localhost:<port>`: the SPN is then `HTTP@localhost`, which the lab's KDC knows. */
  url: string;
  /** Every request head seen, in order. */
  heads: string[];
  connections(): number;
  /** Destroys every open connection (the proxy "dies"). */
  killConnections(): void;
  close(): Promise<void>;
}

/**
 * A proxy on loopback that reads each request head and answers with `reply`: replies the lab's Squid
 * never gives. A supplement to the real lab, never a replacement: the tokens it is sent are real.
 * Request bodies are not framed; a reply that needs the body reads it from the socket itself.
 */
export async function scriptedProxy(reply: Reply): Promise<ScriptedProxy> {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    const n = ++connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) >= 0) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        heads.push(head);
        reply(head, socket, n);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    url: `http://localhost:${(server.address() as AddressInfo).port}`,
    heads,
    connections: () => connections,
    killConnections: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
