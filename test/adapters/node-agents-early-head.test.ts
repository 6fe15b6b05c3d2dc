import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import type { Lab } from '../../lab/lab.js';
import type { EchoReply } from '../../lab/origin.js';
import { createAgents, type ProxyAgents } from '../../src/index.js';
import { logSince, quietLogLength, useLab, type LogReader } from '../helpers/lab.js';

/**
 * Requests whose head node:http renders before the agent sees them (issue 23, bug B1): `Expect:
 * 100-continue` (the AWS SDK's large uploads), headers given as an array, `flushHeaders()`; and the
 * rest of what a request can do (`setHeader` after creation, abort before and after the socket). Each
 * on both paths (http forwarded in absolute form, https through a CONNECT tunnel) and both proxy
 * families: Squid authenticates the connection, Apache every request.
 */
const ctx = useLab();

let uniq = 0;
const path = (name: string): string => `/${name}-${process.pid}-${++uniq}`;

const PROXIES = [
  { name: 'Squid (per-connection Negotiate)', url: (lab: Lab) => lab.proxies.negotiate, log: ((lab) => lab.accessLog()) as LogReader },
  { name: 'Apache (per-request Negotiate)', url: (lab: Lab) => lab.proxies.perRequest, log: ((lab) => lab.perRequestLog()) as LogReader },
] as const;

function agentsVia(lab: Lab, proxy: string): ProxyAgents {
  return createAgents({ proxy, kerberos: true, noProxy: '', exactNoProxy: '', env: {}, ca: lab.ca });
}

interface Result {
  status: number;
  echo: EchoReply;
  continued: boolean;
}

/** One request, built by `start` with the options given; nothing may be thrown out of the request call. */
function exchange(url: string, options: http.RequestOptions, start: (req: ClientRequest) => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    let continued = false;
    let req: ClientRequest | undefined;
    assert.doesNotThrow(() => {
      req = mod.request(url, options, (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, echo: JSON.parse(body) as EchoReply, continued }));
      });
    }, 'http.request() must not throw');
    const r = req as ClientRequest;
    r.on('continue', () => (continued = true));
    r.on('error', reject);
    start(r);
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

for (const proxy of PROXIES) {
  for (const scheme of ['http', 'https'] as const) {
    describe(`node:${scheme} agent through ${proxy.name}: requests whose head Node renders early`, () => {
      const origin = (lab: Lab): string => lab.origins[scheme].url;
      const agentOf = (agents: ProxyAgents): http.Agent => (scheme === 'https' ? agents.https : agents.http);

      test('Expect: 100-continue, the body sent on the 100 (as the AWS SDK does): the 100 reaches node:http, the 1 MiB body lands whole', async () => {
        const lab = ctx.lab;
        const agents = agentsVia(lab, proxy.url(lab));
        const from = await quietLogLength(lab, proxy.log);
        try {
          const body = randomBytes(1024 * 1024);
          const p = path('expect');
          const result = await exchange(`${origin(lab)}${p}`, { method: 'PUT', agent: agentOf(agents), headers: { expect: '100-continue', 'content-length': body.length } }, (req) => {
            req.on('continue', () => req.end(body));
          });
          assert.equal(result.status, 200);
          assert.equal(result.continued, true, "the request heard 'continue'");
          assert.equal(result.echo.bodyBytes, body.length);
          assert.equal(result.echo.bodySha256, sha(body));
          assert.equal(result.echo.url, p, 'the origin saw the path it was sent');
          agents.http.destroy();
          agents.https.destroy(); // a CONNECT is logged when its tunnel closes
          const log = await logSince(lab, from, 1, proxy.log);
          assert.ok(log.some((e) => e.user === lab.principal && e.status === 200), `the proxy logged ${lab.principal}: ${JSON.stringify(log)}`);
        } finally {
          agents.http.destroy();
          agents.https.destroy();
        }
      });

      test('headers given as an array, then a second request on the kept-alive connection', async () => {
        const lab = ctx.lab;
        const agents = agentsVia(lab, proxy.url(lab));
        try {
          const host = new URL(origin(lab)).host;
          for (const name of ['array-1', 'array-2']) {
            // With an array Node adds no Host of its own: the caller gives every field.
            const headers = ['host', host, 'x-early', name, 'x-list', 'a', 'x-list', 'b'];
            const result = await exchange(`${origin(lab)}${path(name)}`, { agent: agentOf(agents), headers }, (req) => req.end());
            assert.equal(result.status, 200);
            assert.equal(result.echo.headers['x-early'], name);
            assert.equal(result.echo.headers['proxy-authorization'], undefined, 'no Proxy-Authorization reached the origin');
          }
        } finally {
          agents.http.destroy();
          agents.https.destroy();
        }
      });

      test('flushHeaders() before the body, and setHeader() after the request was created', async () => {
        const lab = ctx.lab;
        const agents = agentsVia(lab, proxy.url(lab));
        try {
          const body = Buffer.from('flushed first, body later');
          const flushed = await exchange(`${origin(lab)}${path('flush')}`, { method: 'POST', agent: agentOf(agents), headers: { 'content-length': body.length } }, (req) => {
            req.flushHeaders();
            setImmediate(() => req.end(body));
          });
          assert.equal(flushed.status, 200);
          assert.equal(flushed.echo.bodySha256, sha(body));
          const set = await exchange(`${origin(lab)}${path('set')}`, { agent: agentOf(agents) }, (req) => {
            req.setHeader('x-late', 'set after creation');
            req.end();
          });
          assert.equal(set.echo.headers['x-late'], 'set after creation');
        } finally {
          agents.http.destroy();
          agents.https.destroy();
        }
      });

      test('abort before the socket and after it: each request ends with close, nothing is thrown, the agent stays usable', async () => {
        const lab = ctx.lab;
        const agents = agentsVia(lab, proxy.url(lab));
        const mod = scheme === 'https' ? https : http;
        try {
          for (const when of ['before', 'after'] as const) {
            const closed = new Promise<void>((resolve) => {
              const req = mod.get(`${origin(lab)}${path(`abort-${when}`)}`, { agent: agentOf(agents) });
              req.on('error', () => undefined);
              req.on('close', () => resolve());
              if (when === 'before') req.destroy();
              else req.once('socket', () => req.destroy());
            });
            await closed;
          }
          const after = await exchange(`${origin(lab)}${path('after-aborts')}`, { agent: agentOf(agents) }, (req) => req.end());
          assert.equal(after.status, 200);
        } finally {
          agents.http.destroy();
          agents.https.destroy();
        }
      });
    });
  }
}

describe('a 407 to an Expect: 100-continue request before its body (a scripted proxy; the tokens are real)', () => {
  test('the head goes again on a new connection at once, the 100 of the replay reaches node:http, the body follows whole', async () => {
    const lab = ctx.lab;
    const body = randomBytes(256 * 1024);
    const heads: string[] = [];
    let connections = 0;
    // First connection: a 407 to the head, as a per-request proxy does, then closed. Second: 100, the body, 200.
    const proxy = createServer((socket) => {
      const n = ++connections;
      let buffered = Buffer.alloc(0);
      let head: string | undefined;
      socket.on('error', () => undefined);
      socket.on('data', (d: Buffer) => {
        buffered = Buffer.concat([buffered, d]);
        if (head === undefined) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end < 0) return;
          head = buffered.toString('latin1', 0, end);
          heads.push(head);
          buffered = buffered.subarray(end + 4);
          if (n === 1) {
            socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
            return;
          }
          socket.write('HTTP/1.1 100 Continue\r\n\r\n');
        }
        if (n > 1 && buffered.length >= body.length) {
          const text = JSON.stringify({ bytes: buffered.length, sha: sha(buffered) });
          socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`);
        }
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const agents = createAgents({ proxy: `http://localhost:${(proxy.address() as AddressInfo).port}`, kerberos: true, noProxy: '', exactNoProxy: '', env: {} });
    try {
      const answer = await new Promise<{ status: number; continued: boolean; body: { bytes: number; sha: string } }>((resolve, reject) => {
        let continued = false;
        const req = http.request('http://origin.test/upload', { method: 'PUT', agent: agents.http, headers: { expect: '100-continue', 'content-length': body.length } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, continued, body: JSON.parse(text) as { bytes: number; sha: string } }));
        });
        req.on('continue', () => {
          continued = true;
          req.end(body);
        });
        req.on('error', reject);
      });
      assert.deepEqual(answer, { status: 200, continued: true, body: { bytes: body.length, sha: sha(body) } });
      assert.equal(connections, 2, 'the replay went on a new connection');
      assert.equal(heads.length, 2);
      for (const head of heads) {
        assert.match(head, /^PUT http:\/\/origin\.test\/upload HTTP\/1\.1\r\n/, 'absolute form, put on the wire');
        assert.match(head, /\r\nProxy-Authorization: Negotiate \S+/i, 'a token on each');
      }
      assert.notEqual(/Negotiate (\S+)/.exec(heads[0] ?? '')?.[1], /Negotiate (\S+)/.exec(heads[1] ?? '')?.[1], 'a fresh token for the replay');
      void lab;
    } finally {
      agents.http.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});
