import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig, type ProxyRoute } from '../../src/config/proxy-config.js';
import { ConnectionAuthState } from '../../src/transport/connection-auth-state.js';
import { forgetAuthModes, ProxyAuthSession } from '../../src/transport/proxy-auth-session.js';
import { connectionCloses, MAX_LEGS, ProxyExchange, type ExchangeAction, type ExchangeEvent } from '../../src/transport/proxy-exchange.js';

// The forwarded exchange's decision table: each row is a route, a connection, the events a binding
// reports (in order) and the actions the engine must answer with, one for each event.
//
// Events: start · token:<Scheme>[:same] (a token made; `none` for none; `:same` a leg bound to the
// connection) · written (the request goes out now) · token-failed · <status>[:close][:early][:reply]
// [:squid] (an answer's head: the connection closes after it, the body was not all sent, it carries a
// Negotiate reply token, it is Squid's own) · end · body / body:over · verified / verified:no ·
// verify-failed · closed · failed · reconnect (the connection closes and a new one opens, between
// events: no action).
// Actions: send(<Scheme>,same|new[,replay]) · token · answer[:onauth] · hold · replay-body · verify ·
// deliver · finish · fail(<error class>) · nothing.

const LARGE_TOKEN = `Negotiate ${'A'.repeat(9000)}`;

interface Row {
  /** `ntlm`: DOMAIN\\user credentials, JAATO_PROXY_AUTH=ntlm (nothing up front). */
  route?: 'negotiate' | 'basic' | 'basic-and-negotiate' | 'ntlm';
  /** The connection already carried an accepted Negotiate token (Squid) / a verified reply token. */
  connection?: Array<'authenticated' | 'verified'>;
  requireMutualAuth?: boolean;
  connect?: boolean;
  events: string[];
  actions: string[];
}

function routeOf(kind: Row['route']): ProxyRoute {
  const proxy = kind === 'negotiate' ? 'http://127.0.0.1:3128' : 'http://user:secret@127.0.0.1:3128';
  const route = resolveConfig({ proxy, kerberos: kind !== 'basic', env: {}, ...(kind === 'ntlm' && { proxyAuth: 'ntlm' as const }) }).route(new URL('http://origin.test/x'));
  assert.equal(route.type, 'proxy');
  return route as ProxyRoute;
}

function event(text: string): ExchangeEvent | 'reconnect' {
  const [name = '', ...flags] = text.split(':');
  if (/^\d{3}$/.test(name)) {
    const headers: Record<string, string> = {};
    if (name === '407') headers['proxy-authenticate'] = 'Negotiate';
    if (flags.includes('reply')) headers['proxy-authenticate'] = 'Negotiate b3Jp';
    if (flags.includes('squid')) headers['x-squid-error'] = 'ERR_TOO_BIG 0';
    return { type: 'head', statusCode: Number(name), statusText: '', headers, closes: flags.includes('close'), bodySent: !flags.includes('early') };
  }
  switch (name) {
    case 'token': {
      const scheme = flags[0] ?? 'none';
      const header = scheme === 'none' ? undefined : scheme === 'Large' ? LARGE_TOKEN : `${scheme} dG9rZW4=`;
      return { type: 'token', header, sameConnection: flags.includes('same') };
    }
    case 'body':
      return { type: 'body', replayable: !flags.includes('over'), limit: 1024 };
    case 'verified':
      return { type: 'verified', ok: !flags.includes('no') };
    case 'token-failed':
    case 'verify-failed':
    case 'failed':
      return { type: name, error: new Error(name) };
    case 'start':
    case 'written':
    case 'end':
    case 'closed':
    case 'reconnect':
      return name === 'reconnect' ? name : { type: name };
    default:
      throw new Error(`unknown event ${text}`);
  }
}

function show(a: ExchangeAction): string {
  switch (a.do) {
    case 'send':
      return `send(${a.header?.split(' ')[0] ?? 'none'},${a.connection}${a.replay ? ',replay' : ''})`;
    case 'answer':
      return a.onAuthenticatedConnection ? 'answer:onauth' : 'answer';
    case 'fail':
      return `fail(${(a.error as Error).constructor.name === 'Error' ? (a.error as Error).message : (a.error as Error).constructor.name})`;
    default:
      return a.do;
  }
}

function run(row: Row): string[] {
  forgetAuthModes();
  const route = routeOf(row.route ?? 'negotiate');
  const connection = new ConnectionAuthState();
  connection.opened();
  if (row.connection?.includes('authenticated')) connection.markAuthenticated();
  if (row.connection?.includes('verified')) connection.markVerified();
  const session = new ProxyAuthSession(route, { requireMutualAuth: row.requireMutualAuth === true });
  const exchange = new ProxyExchange(route, session, connection, 'GET http://origin.test', row.connect ? { authority: 'origin.test:443' } : undefined);
  const actions: string[] = [];
  for (const text of row.events) {
    const e = event(text);
    if (e === 'reconnect') {
      connection.closed();
      connection.opened();
      continue;
    }
    actions.push(show(exchange.step(e)));
  }
  return actions;
}

const ANSWERED = ['start', 'token:Negotiate', '407', 'end', 'token:Negotiate', 'body'];

const rows: Record<string, Row> = {
  'a new connection: the first request waits for a token, then goes with it': {
    events: ['start', 'token:Negotiate', '200', 'end'],
    actions: ['token', 'send(Negotiate,same)', 'deliver', 'finish'],
  },
  'a connection Negotiate authenticated (Squid): sent at once, without a token': {
    connection: ['authenticated'],
    events: ['start', '200'],
    actions: ['send(none,same)', 'deliver'],
  },
  'no pre-auth token (Kerberos failed up front): sent without one': {
    events: ['start', 'token:none', '200'],
    actions: ['token', 'send(none,same)', 'deliver'],
  },
  'Basic: on every request, at once': {
    route: 'basic',
    events: ['start', '200'],
    actions: ['send(Basic,same)', 'deliver'],
  },
  'a 407 is held, answered with a fresh token, and the request replayed on the kept connection': {
    events: [...ANSWERED, '200', 'end'],
    actions: ['token', 'send(Negotiate,same)', 'hold', 'answer', 'replay-body', 'send(Negotiate,same,replay)', 'deliver', 'finish'],
  },
  'a 407 the proxy closes the connection after: the replay goes on a new one': {
    events: ['start', 'token:Negotiate', '407:close', 'end', 'token:Negotiate', 'body'],
    actions: ['token', 'send(Negotiate,same)', 'hold', 'answer', 'replay-body', 'send(Negotiate,new,replay)'],
  },
  'a 407 before the body was all sent: the proxy is behind, the replay goes on a new connection': {
    events: ['start', 'token:Negotiate', '407:early', 'end', 'token:Negotiate', 'body'],
    actions: ['token', 'send(Negotiate,same)', 'hold', 'answer', 'replay-body', 'send(Negotiate,new,replay)'],
  },
  'a 407 to a request sent without a token on an authenticated connection: the proxy authenticates requests (Apache)': {
    connection: ['authenticated'],
    events: ['start', '407', 'end'],
    actions: ['send(none,same)', 'hold', 'answer:onauth'],
  },
  'the same, but the connection was replaced before the 407 ended: nothing learned': {
    connection: ['authenticated'],
    events: ['start', '407', 'reconnect', 'end'],
    actions: ['send(none,same)', 'hold', 'answer'],
  },
  'a body past the replay limit: the 407 cannot be answered, RequestBodyReplayError': {
    events: ['start', 'token:Negotiate', '407', 'end', 'token:Negotiate', 'body:over'],
    actions: ['token', 'send(Negotiate,same)', 'hold', 'answer', 'replay-body', 'fail(RequestBodyReplayError)'],
  },
  'the answer to a 407 cannot be made: its error ends the exchange': {
    events: ['start', 'token:Negotiate', '407', 'end', 'token-failed', 'token:Negotiate'],
    actions: ['token', 'send(Negotiate,same)', 'hold', 'answer', 'fail(token-failed)', 'nothing'],
  },
  'a reply token is verified before anything of the answer is delivered': {
    events: ['start', 'token:Negotiate', '200:reply', 'verified', 'end'],
    actions: ['token', 'send(Negotiate,same)', 'verify', 'deliver', 'finish'],
  },
  'the answer ends while its reply token is verified: the end waits behind it': {
    events: ['start', 'token:Negotiate', '200:reply', 'end', 'verified', 'end'],
    actions: ['token', 'send(Negotiate,same)', 'verify', 'finish', 'deliver', 'nothing'],
  },
  'a reply token that does not verify fails the exchange (mutual auth)': {
    events: ['start', 'token:Negotiate', '200:reply', 'verify-failed', 'end'],
    actions: ['token', 'send(Negotiate,same)', 'verify', 'fail(verify-failed)', 'nothing'],
  },
  'mutual auth required, on a connection not yet verified: the answer is held for the check': {
    requireMutualAuth: true,
    events: ['start', 'token:Negotiate', '200', 'verified:no'],
    actions: ['token', 'send(Negotiate,same)', 'verify', 'deliver'],
  },
  'mutual auth required, on a connection an earlier answer verified: delivered at once': {
    requireMutualAuth: true,
    connection: ['authenticated', 'verified'],
    events: ['start', '200'],
    actions: ['send(none,same)', 'deliver'],
  },
  'an interim answer is delivered as it comes; the final one follows': {
    events: ['start', 'token:Negotiate', '100', '200', 'end'],
    actions: ['token', 'send(Negotiate,same)', 'deliver', 'deliver', 'finish'],
  },
  '431 to a request with our token: the proxy refused its size, ProxyHeaderTooLargeError': {
    events: ['start', 'token:Negotiate', '431'],
    actions: ['token', 'send(Negotiate,same)', 'fail(ProxyHeaderTooLargeError)'],
  },
  "400 from Squid itself to a large token: refused for size": {
    events: ['start', 'token:Large', '400:squid'],
    actions: ['token', 'send(Negotiate,same)', 'fail(ProxyHeaderTooLargeError)'],
  },
  "400 with a large token but from the origin: the caller's answer": {
    events: ['start', 'token:Large', '400'],
    actions: ['token', 'send(Negotiate,same)', 'deliver'],
  },
  'CONNECT: a 2xx delivers the tunnel': {
    connect: true,
    events: ['start', 'token:Negotiate', '200'],
    actions: ['token', 'send(Negotiate,same)', 'deliver'],
  },
  'CONNECT: any other final answer refuses the tunnel, ProxyTunnelError': {
    connect: true,
    events: ['start', 'token:Negotiate', '403'],
    actions: ['token', 'send(Negotiate,same)', 'fail(ProxyTunnelError)'],
  },
  "CONNECT: a 407 is never read, so the replay goes on a new connection": {
    connect: true,
    events: ANSWERED,
    actions: ['token', 'send(Negotiate,same)', 'hold', 'answer', 'replay-body', 'send(Negotiate,new,replay)'],
  },
  'CONNECT: 400 to a large token is the proxy\'s own, refused for size': {
    connect: true,
    events: ['start', 'token:Large', '400'],
    actions: ['token', 'send(Negotiate,same)', 'fail(ProxyHeaderTooLargeError)'],
  },
  'a leg bound to its connection (NTLM type 3) goes on the connection its challenge came on': {
    events: ['start', 'token:NTLM', '407', 'end', 'token:NTLM:same', 'body', '200'],
    actions: ['token', 'send(NTLM,same)', 'hold', 'answer', 'replay-body', 'send(NTLM,same,replay)', 'deliver'],
  },
  'a bound leg after a 407 that closes the connection: ProxyAuthenticationError, never sent elsewhere': {
    events: ['start', 'token:NTLM', '407:close', 'end', 'token:NTLM:same'],
    actions: ['token', 'send(NTLM,same)', 'hold', 'answer', 'fail(ProxyAuthenticationError)'],
  },
  'a bound leg when the connection was lost while it was made: ProxyAuthenticationError': {
    events: ['start', 'token:NTLM', '407', 'end', 'reconnect', 'token:NTLM:same'],
    actions: ['token', 'send(NTLM,same)', 'hold', 'answer', 'fail(ProxyAuthenticationError)'],
  },
  'a bound leg written on its connection: it goes': {
    events: ['start', 'token:NTLM', '407', 'end', 'token:NTLM:same', 'body', 'written', '200'],
    actions: ['token', 'send(NTLM,same)', 'hold', 'answer', 'replay-body', 'send(NTLM,same,replay)', 'nothing', 'deliver'],
  },
  'a bound leg the transport put on a connection it redialled by itself (undici): ProxyAuthenticationError': {
    events: ['start', 'token:NTLM', '407', 'end', 'token:NTLM:same', 'body', 'reconnect', 'written'],
    actions: ['token', 'send(NTLM,same)', 'hold', 'answer', 'replay-body', 'send(NTLM,same,replay)', 'fail(ProxyAuthenticationError)'],
  },
  'a fresh Negotiate token on a connection the transport redialled: it goes': {
    events: [...ANSWERED, 'reconnect', 'written', '200'],
    actions: ['token', 'send(Negotiate,same)', 'hold', 'answer', 'replay-body', 'send(Negotiate,same,replay)', 'nothing', 'deliver'],
  },
  'a bound leg over a CONNECT whose 407 the binding could not read (it closes): ProxyAuthenticationError': {
    connect: true,
    events: ['start', 'token:NTLM', '407:close', 'end', 'token:NTLM:same'],
    actions: ['token', 'send(NTLM,same)', 'hold', 'answer', 'fail(ProxyAuthenticationError)'],
  },
  'NTLM, forwarded: no credentials up front, the NEGOTIATE message, then the AUTHENTICATE message on the CHALLENGE\'s connection': {
    route: 'ntlm',
    events: ['start', '407', 'end', 'token:NTLM', 'body', '407', 'end', 'token:NTLM:same', 'body', '200', 'end'],
    actions: ['send(none,same)', 'hold', 'answer', 'replay-body', 'send(NTLM,same,replay)', 'hold', 'answer', 'replay-body', 'send(NTLM,same,replay)', 'deliver', 'finish'],
  },
  'NTLM over CONNECT: the first 407\'s connection is closed, the CHALLENGE\'s is kept for the AUTHENTICATE message': {
    route: 'ntlm',
    connect: true,
    events: ['start', '407', 'end', 'token:NTLM', 'body', '407', 'end', 'token:NTLM:same', 'body', '200'],
    actions: ['send(none,same)', 'hold', 'answer', 'replay-body', 'send(NTLM,new,replay)', 'hold', 'answer', 'replay-body', 'send(NTLM,same,replay)', 'deliver'],
  },
  'NTLM over CONNECT, the CHALLENGE\'s connection closed by the proxy: ProxyAuthenticationError, never the leg on another': {
    route: 'ntlm',
    connect: true,
    events: ['start', '407', 'end', 'token:NTLM', 'body', '407:close', 'end', 'token:NTLM:same'],
    actions: ['send(none,same)', 'hold', 'answer', 'replay-body', 'send(NTLM,new,replay)', 'hold', 'answer', 'fail(ProxyAuthenticationError)'],
  },
  'a Negotiate 407 to a CONNECT still closes its connection': {
    connect: true,
    events: ['start', 'token:Negotiate', '407', 'end', 'token:Negotiate', 'body'],
    actions: ['token', 'send(Negotiate,same)', 'hold', 'answer', 'replay-body', 'send(Negotiate,new,replay)'],
  },
  'a connection NTLM authenticated carries a Basic route\'s request without Basic beside it': {
    route: 'basic',
    connection: ['authenticated'],
    events: ['start', '200'],
    actions: ['send(none,same)', 'deliver'],
  },
  [`legs are bounded: the 407 after ${MAX_LEGS} answers fails`]: {
    events: ['start', 'token:NTLM', ...Array.from({ length: MAX_LEGS }, () => ['407', 'end', 'token:NTLM:same', 'body']).flat(), '407'],
    actions: [
      'token', 'send(NTLM,same)',
      ...Array.from({ length: MAX_LEGS }, () => ['hold', 'answer', 'replay-body', 'send(NTLM,same,replay)']).flat(),
      'fail(ProxyAuthenticationError)',
    ],
  },
  'the proxy closes the connection under the exchange: ProxyConnectionError': {
    events: ['start', 'token:Negotiate', 'closed', '200'],
    actions: ['token', 'send(Negotiate,same)', 'fail(ProxyConnectionError)', 'nothing'],
  },
  'the binding fails (an abort while the first token is made): later events are ignored': {
    events: ['start', 'failed', 'token:Negotiate'],
    actions: ['token', 'fail(failed)', 'nothing'],
  },
  'an answer read while a 407 is answered is not taken for the replay\'s': {
    events: ['start', 'token:Negotiate', '407', 'end', '200'],
    actions: ['token', 'send(Negotiate,same)', 'hold', 'answer', 'nothing'],
  },
};

for (const [name, row] of Object.entries(rows)) {
  test(`proxy exchange: ${name}`, () => {
    assert.equal(row.events.filter((e) => e !== 'reconnect').length, row.actions.length, 'one action per event');
    assert.deepEqual(run(row), row.actions);
  });
}

test('proxy exchange: a 2xx to a Negotiate token marks the connection authenticated, a verified reply token marks it verified', () => {
  const route = routeOf('negotiate');
  const connection = new ConnectionAuthState();
  connection.opened();
  const exchange = new ProxyExchange(route, new ProxyAuthSession(route), connection, 'GET http://origin.test');
  exchange.step({ type: 'start' });
  exchange.step({ type: 'token', header: 'Negotiate dG9rZW4=' });
  assert.equal(connection.authenticated, false);
  exchange.step({ type: 'head', statusCode: 200, statusText: 'OK', headers: { 'proxy-authenticate': 'Negotiate b3Jp' }, closes: false, bodySent: true });
  assert.equal(connection.authenticated, true);
  assert.equal(connection.verified, false);
  exchange.step({ type: 'verified', ok: true });
  assert.equal(connection.verified, true);
});

test('proxy exchange: a 2xx to the NTLM AUTHENTICATE message marks the connection authenticated, so later requests go without legs', () => {
  const route = routeOf('ntlm');
  const connection = new ConnectionAuthState();
  connection.opened();
  const first = new ProxyExchange(route, new ProxyAuthSession(route), connection, 'GET http://origin.test');
  assert.equal(first.step({ type: 'start' }).do, 'send');
  first.step({ type: 'head', statusCode: 407, statusText: '', headers: { 'proxy-authenticate': ['Negotiate', 'NTLM'] }, closes: false, bodySent: true });
  first.step({ type: 'end' });
  first.step({ type: 'token', header: 'NTLM dG9rZW4=' });
  first.step({ type: 'body', replayable: true, limit: 0 });
  first.step({ type: 'head', statusCode: 407, statusText: '', headers: { 'proxy-authenticate': 'NTLM Y2hhbGxlbmdl' }, closes: false, bodySent: true });
  first.step({ type: 'end' });
  first.step({ type: 'token', header: 'NTLM YXV0aA==', sameConnection: true });
  first.step({ type: 'body', replayable: true, limit: 0 });
  assert.equal(connection.authenticated, false);
  first.step({ type: 'head', statusCode: 200, statusText: 'OK', headers: {}, closes: false, bodySent: true });
  assert.equal(connection.authenticated, true);
  const next = new ProxyExchange(route, new ProxyAuthSession(route), connection, 'GET http://origin.test');
  assert.deepEqual(next.step({ type: 'start' }), { do: 'send', header: undefined, replay: false, connection: 'same' });
  connection.closed();
  connection.opened();
  assert.equal(connection.authenticated, false, 'a new connection has its own handshake');
});

for (const [value, closes] of [[undefined, false], ['keep-alive', false], ['close', true], ['Keep-Alive, Close', true], [['upgrade', 'close'], true], ['closed', false]] as const) {
  test(`proxy exchange: Connection: ${JSON.stringify(value)} ${closes ? 'closes' : 'keeps'} the connection`, () => {
    assert.equal(connectionCloses(value === undefined ? {} : { connection: value }), closes);
  });
}
