import { after, before } from 'node:test';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { Lab } from '../../lab/lab.js';
import type { EchoReply } from '../../lab/origin.js';
import { useLab } from '../helpers/lab.js';
import { labEnv, runCli, type Result } from './helpers.js';

// The lab and the fixtures of the `jaato-proxy fetch` tests (fetch-output, fetch-network), set by
// useFetchCli's hooks and read by the tests as live bindings.
export let ca = '';
export let http = '';
export let https = '';
export let closedPort = 0;
export let blackHole: NetServer;
export let tlsProxy = '';

/**
 * Call inside the file's describe() (Node 20 starts top-level before() hooks as they are registered, a
 * suite runs its own in order): the real lab, origins answering /status/<n> and /moved/<n>?to=, a closed
 * port, a proxy that never answers, and an https:// proxy in front of the Negotiate Squid.
 */
export function useFetchCli(): {
  ctx: { readonly lab: Lab };
  fetchCli: (args: string[], env?: NodeJS.ProcessEnv) => Promise<Result>;
  echo: (r: Result) => EchoReply;
  sha256: (data: string | Buffer) => string;
} {
  const ctx = useLab();
  let tlsFront: TlsServer;
  const heldOpen = new Set<Socket>();

  async function listening<S extends NetServer>(server: S): Promise<S> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  before(async () => {
    const lab = ctx.lab;
    ca = join(lab.dir, 'fetch-ca.pem');
    writeFileSync(ca, lab.ca);
    http = lab.origins.http.url;
    https = lab.origins.https.url;
    // /status/<n> answers n; /moved/<n>?to= redirects with status n (the origin's /redirect is a 302).
    for (const origin of [lab.origins.http, lab.origins.https]) {
      origin.mount('/status/', (req, res) => {
        req.resume();
        res.writeHead(Number(req.url?.split('/')[2]), { 'content-type': 'text/plain' }).end('status body\n');
      });
      origin.mount('/moved/', (req, res) => {
        req.resume();
        const url = new URL(req.url ?? '/', 'http://x');
        res.writeHead(Number(url.pathname.split('/')[2]), { location: url.searchParams.get('to') ?? '/' }).end('moved body');
      });
    }
    const probe = await listening(createNetServer());
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    // A proxy that accepts connections and never answers.
    blackHole = await listening(createNetServer((s) => void heldOpen.add(s)));
    // An https:// proxy: TLS (the lab CA's localhost certificate) in front of the Negotiate Squid.
    tlsFront = await listening(
      createTlsServer({ key: readFileSync(join(lab.dir, 'origin.key')), cert: readFileSync(join(lab.dir, 'origin.pem')) }, (tls) => {
        const squid = connect(Number(new URL(lab.proxies.negotiate).port), '127.0.0.1');
        tls.pipe(squid).pipe(tls);
        tls.on('error', () => squid.destroy());
        squid.on('error', () => tls.destroy());
      }),
    );
    tlsProxy = `https://localhost:${(tlsFront.address() as AddressInfo).port}`;
  });

  after(() => {
    for (const s of heldOpen) s.destroy();
    blackHole.close();
    tlsFront.close();
  });

  return {
    ctx,
    fetchCli: (args, env = labEnv(ctx.lab)) => runCli(['fetch', ...args], env),
    echo: (r) => JSON.parse(r.stdout) as EchoReply,
    sha256: (data) => createHash('sha256').update(data).digest('hex'),
  };
}
