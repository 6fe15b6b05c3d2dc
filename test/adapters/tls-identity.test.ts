import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get as httpsGet, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { issueCertificate } from '../../lab/certs.js';
import { install, uninstall, type ProxyDispatcherOptions } from '../../src/index.js';
import { logSince, quietLogLength, useLab } from '../helpers/lab.js';
import { CLIENT_FAMILIES, type ClientFamily, type ClientResponse } from '../conformance/clients.js';

/**
 * Issue 10 finding 1: through a proxy, every client checks the origin's certificate against the target
 * as the URL names it, IP literals included, and sends SNI for names only. Two HTTPS origins of this
 * file's own, with certificates from the lab's CA (so the only thing wrong is the name), reached
 * through the lab's Kerberos Squid.
 */

interface TlsOrigin {
  server: Server;
  port: number;
  /** Each request that got through the handshake: its path and the SNI it came with (false: none). */
  seen: Array<{ path: string; sni: string | false }>;
}

function tlsOrigin(): TlsOrigin {
  const seen: TlsOrigin['seen'] = [];
  // No certificate yet: the lab's CA exists only once the lab is up (setSecureContext below).
  const server = createServer({}, (req, res) => {
    seen.push({ path: req.url ?? '', sni: (req.socket as TLSSocket).servername ?? false });
    req.resume();
    res.end('origin reached');
  });
  return { server, port: 0, seen };
}

/** Valid for the name `localhost` only. */
const namesOnly = tlsOrigin();
/** Valid for 127.0.0.1 and ::1 only, no name. */
const addressesOnly = tlsOrigin();

/** The install() path for plain `https.get` (no agent): `https.globalAgent`, which the conformance family does not exercise. */
const globalHttpsGet: ClientFamily = {
  name: 'global install (plain https.get)',
  create(options) {
    install(options);
    return {
      request: (url) =>
        new Promise<ClientResponse>((resolve, reject) => {
          httpsGet(url, (res: IncomingMessage) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: {}, body: Buffer.concat(chunks) }));
            res.on('error', reject);
          }).on('error', reject);
        }),
      close: () => uninstall(),
    };
  },
};

interface Case {
  name: string;
  origin: () => TlsOrigin;
  /** The host as written in the URL. */
  host: string;
  /** For a refused certificate: what Node's check must say (it names the identity it checked). */
  refused?: RegExp;
  /** For an accepted one: the SNI the origin must have seen. */
  sni?: string | false;
}

const CASES: Case[] = [
  { name: 'a certificate for localhost only is refused for https://127.0.0.1', origin: () => namesOnly, host: '127.0.0.1', refused: /IP: 127\.0\.0\.1 is not in the cert's list/ },
  { name: 'a certificate for localhost only is refused for https://[::1]', origin: () => namesOnly, host: '[::1]', refused: /IP: ::1 is not in the cert's list/ },
  { name: 'a certificate for 127.0.0.1 and ::1 only is refused for https://localhost', origin: () => addressesOnly, host: 'localhost', refused: /Host: localhost\. is not/ },
  { name: 'a certificate for localhost is accepted for https://localhost, with SNI localhost', origin: () => namesOnly, host: 'localhost', sni: 'localhost' },
  { name: 'a certificate for 127.0.0.1 is accepted for https://127.0.0.1, without SNI', origin: () => addressesOnly, host: '127.0.0.1', sni: false },
  { name: 'a certificate for ::1 is accepted for https://[::1], without SNI', origin: () => addressesOnly, host: '[::1]', sni: false },
];

/** The `code`s along an error's cause chain (fetch: TypeError → cause; axios and got: their wrapper → cause). */
function chain(error: unknown): Array<{ code?: string; message: string }> {
  const out: Array<{ code?: string; message: string }> = [];
  for (let e = error; e instanceof Error; e = e.cause) out.push({ code: (e as { code?: string }).code, message: e.message });
  return out;
}

let uniq = 0;

// One suite, so its hooks run in order: at the top level Node 20 starts each before() as it is registered.
describe('TLS identity through the proxy', () => {
  before(async () => {
    for (const o of [namesOnly, addressesOnly]) {
      // '::' takes IPv4 too (bindv6only is 0 on Linux by default): one origin for 127.0.0.1, ::1 and localhost.
      await new Promise<void>((resolve) => o.server.listen(0, '::', resolve));
      o.port = (o.server.address() as AddressInfo).port;
    }
  });
  const ctx = useLab({ connectPorts: () => [namesOnly.port, addressesOnly.port] });
  before(async () => {
    namesOnly.server.setSecureContext(await issueCertificate(ctx.lab.dir, 'names-only', ['DNS:localhost']));
    addressesOnly.server.setSecureContext(await issueCertificate(ctx.lab.dir, 'addresses-only', ['IP:127.0.0.1', 'IP:::1']));
  });
  after(async () => {
    for (const o of [namesOnly, addressesOnly]) {
      o.server.closeAllConnections();
      await new Promise((resolve) => o.server.close(resolve));
    }
  });

  for (const family of [...CLIENT_FAMILIES, globalHttpsGet]) {
    describe(family.name, () => {
      for (const c of CASES) {
        test(c.name, async () => {
          const lab = ctx.lab;
          const origin = c.origin();
          const path = `/tls-${process.pid}-${++uniq}`;
          const url = `https://${c.host}:${origin.port}${path}`;
          const options: ProxyDispatcherOptions = { proxy: lab.proxies.negotiate, kerberos: true, exactNoProxy: '', noProxy: '', ca: lab.ca, env: {} };
          const from = await quietLogLength(lab);
          const client = family.create(options);
          let outcome: { res: ClientResponse } | { error: unknown };
          try {
            outcome = { res: await client.request(url) };
          } catch (error) {
            outcome = { error };
          } finally {
            await client.close();
          }
          const seen = origin.seen.filter((s) => s.path === path);
          if (c.refused) {
            assert.ok('error' in outcome, `${url} must be refused, got ${'res' in outcome ? outcome.res.status : ''}`);
            const tls = chain(outcome.error).find((e) => e.code === 'ERR_TLS_CERT_ALTNAME_INVALID');
            assert.ok(tls, `ERR_TLS_CERT_ALTNAME_INVALID in the cause chain: ${JSON.stringify(chain(outcome.error))}`);
            assert.match(tls.message, c.refused);
            assert.deepEqual(seen, [], 'no request was sent over the refused connection');
          } else {
            assert.ok('res' in outcome, `${url} must be accepted: ${JSON.stringify('error' in outcome ? chain(outcome.error) : '')}`);
            assert.equal(outcome.res.status, 200);
            assert.equal(outcome.res.body.toString(), 'origin reached');
            assert.deepEqual(seen, [{ path, sni: c.sni }]);
          }
          // Through Squid, not around it: its CONNECT to the origin's port is logged once the tunnel closes.
          const log = await logSince(lab, from, 1);
          assert.deepEqual(
            log.map((e) => [e.method, e.status, e.user, e.url.slice(e.url.lastIndexOf(':') + 1)]),
            [['CONNECT', 200, lab.principal, String(origin.port)]],
          );
        });
      }
    });
  }
});
