// The NTLM side of the AD lab's tests, run inside the lab's network namespace (`lab.node`): starts an
// HTTP origin there and reaches it through the lab's Squid, either with curl (`--proxy-ntlm`, the lab's
// proof) or with our NtlmAuthenticator driven by hand over one raw socket: CONNECT with the NEGOTIATE
// message, the 407's CHALLENGE into step(), CONNECT again with the AUTHENTICATE message on the same
// connection, then a GET through the tunnel. Prints one JSON line (NtlmResult).
// Argument: JSON { proxy, mode: 'curl' | 'raw' | 'choose' | 'dispose', user?: string }; the password comes in
// JAATO_TEST_PASSWORD (none: the authenticator uses the platform's credentials, e.g. NTLM_USER_FILE).
// `dispose`: raw, but the authenticator is disposed when the CHALLENGE arrives, never stepped.
// `helpersLeft`: the ntlm_auth processes of this process still there once all is done (polled to a deadline).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { NtlmAuthenticator, parseChallenges, startProxyAuthenticator, type ProxyAuthenticator } from '../../src/auth/index.js';
import { debugChannel } from '../../src/debug.js';
import { ProxyCredentials } from '../../src/config/proxy-credentials.js';
import { startHttpOrigin } from '../../lab/origin.js';

interface Spec {
  proxy: string;
  /** `choose`: the authenticator startProxyAuthenticator picks from the first 407's offer (Kerberos on). */
  mode: 'curl' | 'raw' | 'choose' | 'dispose';
  user?: string;
}

export interface NtlmResult {
  /** The statuses of the exchange in order: each CONNECT answer, then the origin's answer through the tunnel. */
  statuses: number[];
  /** The schemes the first 407 offered, in the proxy's order (raw mode). */
  offered?: string[];
  /** The legs our authenticator made (raw mode): 'start', 'step'. */
  legs?: string[];
  /** Every CONNECT went on one TCP connection (raw mode). */
  oneConnection?: boolean;
  /** The scheme the authenticator spoke (raw and choose modes). */
  scheme?: string;
  /** The library's debug lines (raw and choose modes). */
  debug?: string[];
  /** ntlm_auth processes this process had left at the end (raw, choose and dispose modes). */
  helpersLeft?: number;
  error?: { name: string; code?: string; message: string };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const password = process.env.JAATO_TEST_PASSWORD;
const origin = await startHttpOrigin();
const target = new URL(origin.url);
const proxy = new URL(spec.proxy);

/** Reads one HTTP head (and the body its Content-Length announces) off the socket. */
function reader(socket: net.Socket): () => Promise<{ status: number; headers: Array<[string, string]> }> {
  let buffered = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  socket.on('data', (d: Buffer) => {
    buffered = Buffer.concat([buffered, d]);
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<never>((_, reject) => socket.once('close', () => reject(new Error('the proxy closed the connection'))));
  closed.catch(() => undefined);
  const more = (): Promise<void> => Promise.race([new Promise<void>((r) => waiters.push(r)), closed]);
  return async () => {
    let end: number;
    while ((end = buffered.indexOf('\r\n\r\n')) < 0) await more();
    const lines = buffered.subarray(0, end).toString('latin1').split('\r\n');
    buffered = buffered.subarray(end + 4);
    const headers = lines.slice(1).map((l): [string, string] => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
    const length = Number(headers.find(([k]) => k === 'content-length')?.[1] ?? 0);
    while (buffered.length < length) await more();
    buffered = buffered.subarray(length);
    return { status, headers };
  };
}

async function raw(): Promise<NtlmResult> {
  const legs: string[] = [];
  const statuses: number[] = [];
  const credentials = spec.user && password !== undefined ? new ProxyCredentials(spec.user, password) : undefined;
  const socket = net.connect(Number(proxy.port), proxy.hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const localPort = socket.localPort;
  const read = reader(socket);
  let auth: ProxyAuthenticator | undefined;
  const connect = (token: string): void => {
    socket.write(`CONNECT ${target.host} HTTP/1.1\r\nHost: ${target.host}\r\nProxy-Authorization: ${auth?.scheme} ${token}\r\n\r\n`);
  };
  const debugLines: string[] = [];
  const onDebug = (m: unknown): void => void debugLines.push((m as { message: string }).message);
  debugChannel.subscribe(onDebug);
  try {
    // No credentials at first: the 407 says what the proxy offers.
    socket.write(`CONNECT ${target.host} HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`);
    const first = await read();
    statuses.push(first.status);
    const offered = parseChallenges(first.headers.filter(([k]) => k === 'proxy-authenticate').map(([, v]) => v)).map((c) => c.scheme);
    if (spec.mode === 'choose') {
      const started = await startProxyAuthenticator({ offered, setting: 'any', kerberos: true, spn: `HTTP@${proxy.hostname}`, proxyHost: proxy.hostname, credentials });
      if (started.scheme !== 'negotiate' && started.scheme !== 'ntlm') throw new Error(`no authenticator: ${started.choice.reason}`);
      auth = started.authenticator;
      connect(started.token);
    } else {
      auth = new NtlmAuthenticator(proxy.hostname, { credentials });
      connect(await auth.start());
    }
    legs.push('start');
    const challenged = await read();
    statuses.push(challenged.status);
    const done = { offered, legs, scheme: auth.scheme, debug: debugLines };
    if (spec.mode === 'dispose') {
      auth.dispose();
      return { statuses, ...done, oneConnection: socket.localPort === localPort };
    }
    // Negotiate: one token, and Squid's answer is the status (a 200 carries no reply token from Squid).
    if (challenged.status === 200 && auth.scheme === 'Negotiate') {
      socket.write(`GET /through-negotiate HTTP/1.1\r\nHost: ${target.host}\r\nConnection: close\r\n\r\n`);
      statuses.push((await read()).status);
      return { statuses, ...done, oneConnection: socket.localPort === localPort };
    }
    const challenge = parseChallenges(challenged.headers.filter(([k]) => k === 'proxy-authenticate').map(([, v]) => v)).find((c) => c.scheme === 'ntlm')?.token;
    if (challenged.status !== 407 || !challenge) return { statuses, ...done, oneConnection: socket.localPort === localPort };
    const next = await auth.step(challenge);
    legs.push('step');
    if (!next.done || !next.token) throw new Error('NTLM wanted another leg after the challenge');
    connect(next.token);
    const answer = await read();
    statuses.push(answer.status);
    if (answer.status === 200) {
      socket.write(`GET /through-ntlm HTTP/1.1\r\nHost: ${target.host}\r\nConnection: close\r\n\r\n`);
      statuses.push((await read()).status);
    }
    return { statuses, ...done, oneConnection: socket.localPort === localPort && !socket.destroyed };
  } finally {
    debugChannel.unsubscribe(onDebug);
    auth?.dispose();
    socket.destroy();
  }
}

function curl(): Promise<NtlmResult> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--proxy-ntlm', '-U', `${spec.user ?? ''}:${password ?? ''}`, '-x', spec.proxy, `${origin.url}/through-curl-ntlm`], (error, stdout, stderr) => {
      resolve({ statuses: [Number(stdout.trim() || 0)], ...(error && { error: { name: 'curl', message: stderr.trim() } }) });
    });
  });
}

/** This process's ntlm_auth children, from /proc. */
function helpers(): number {
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && stat.includes('(ntlm_auth)')) n++;
    } catch {
      // gone while we looked
    }
  }
  return n;
}

/** Polls until no helper is left (a killed one is reaped a moment later), or the deadline. */
async function helpersLeft(): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (helpers() > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  return helpers();
}

let result: NtlmResult;
try {
  result = spec.mode === 'curl' ? await curl() : { ...(await raw()), helpersLeft: await helpersLeft() };
} catch (error) {
  const e = error as Error & { code?: string };
  result = { statuses: [], error: { name: e.constructor.name, ...(e.code && { code: e.code }), message: e.message }, helpersLeft: await helpersLeft() };
}
await origin.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
