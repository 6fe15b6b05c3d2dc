import { connect, isIP } from 'node:net';
import { basicAuthorization } from '../auth/basic.js';
import type { ProxyEndpoint } from '../config/proxy-url.js';
import type { Check } from './check.js';

/** How a proxy on this machine answered a request in origin form, which serve refuses before forwarding anything. */
export type ServeAnswer =
  /** serve, asking for its client credential (the default). */
  | 'serve-auth'
  /** serve without a client credential (`--allow-any-local-user`): it got past authentication to the form check. */
  | 'serve-open'
  /** The safety net's local proxy (its own per-process credential). */
  | 'net-auth'
  /** Something else, or nothing. */
  | 'other';

/** Pure: what serve's (or another proxy's) answer says about its client authentication. */
export function classifyServeAnswer(answer: string): ServeAnswer {
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
  if (status === '407' && /\r\nproxy-authenticate: Basic realm="jaato-proxy serve"\r\n/i.test(answer)) return 'serve-auth';
  if (status === '407' && /\r\nproxy-authenticate: Basic realm="jaato-proxy local proxy"\r\n/i.test(answer)) return 'net-auth';
  if (status === '400' && answer.includes('\r\n\r\njaato-proxy: this is a proxy;')) return 'serve-open';
  return 'other';
}

/** Where serve can be on this machine: `localhost`, 127.0.0.0/8 or ::1 (the URL parser has made the address canonical). */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family === 4 ? host.startsWith('127.') : family === 6 && host === '::1';
}

/** Sends `GET / HTTP/1.1` (origin form: serve refuses it after its client check, forwarding nothing) and returns the answer's start. */
function ask(proxy: ProxyEndpoint, authorization: string | undefined, timeout: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const socket = connect({ host: proxy.hostname, port: proxy.port });
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(finish, timeout);
    socket.on('connect', () => socket.write(`GET / HTTP/1.1\r\nHost: ${proxy.hostname}\r\n${authorization ? `Proxy-Authorization: ${authorization}\r\n` : ''}Connection: close\r\n\r\n`));
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.length > 4096 || got.includes('\r\n\r\n')) setTimeout(finish, 50).unref();
    });
    socket.on('error', finish);
    socket.on('close', finish);
  });
}

/**
 * doctor's line on serve's client authentication, when the configured proxy is a jaato-proxy serve on
 * this machine (undefined otherwise): whether serve asks its clients for the credential it printed
 * (the default) or lets every local account use the user's proxy identity (`--allow-any-local-user`),
 * and whether the credential in the proxy URL is this run's.
 */
export async function checkServeClientAuth(proxy: ProxyEndpoint, timeout = 2000): Promise<Check | undefined> {
  if (proxy.protocol !== 'http:' || !isLoopbackHost(proxy.hostname)) return undefined;
  const kind = classifyServeAnswer(await ask(proxy, undefined, timeout));
  const name = 'serve client auth';
  const where = `jaato-proxy serve at ${proxy.redacted} (${proxy.source})`;
  if (kind === 'serve-open') {
    return {
      name,
      status: 'warn',
      detail: `${where} asks no client credential (--allow-any-local-user): every account on this machine can use your proxy identity through it`,
      remedy: 'on a machine with other users, restart serve without --allow-any-local-user and use the settings it prints',
    };
  }
  if (kind !== 'serve-auth') return undefined;
  const settings = 'use the export lines serve printed at start, or source the serve-<port>.env file it named ($XDG_RUNTIME_DIR/jaato-proxy/)';
  if (!proxy.credentials) {
    return { name, status: 'fail', detail: `${where} requires its per-run client credential (other local accounts get 407), and ${proxy.source} carries none`, remedy: settings };
  }
  const accepted = classifyServeAnswer(await ask(proxy, basicAuthorization(proxy.credentials), timeout)) !== 'serve-auth';
  return accepted
    ? { name, status: 'ok', detail: `${where} requires its per-run client credential (other local accounts get 407); the one in ${proxy.source} is accepted` }
    : { name, status: 'fail', detail: `${where} refuses the credential in ${proxy.source}: serve makes a new one each run`, remedy: settings };
}
