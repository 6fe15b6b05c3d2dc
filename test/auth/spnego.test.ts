import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe } from 'node:test';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  generateSpnegoToken,
  NegotiateContext,
  KerberosAccountDisabledError,
  KerberosAccountExpiredError,
  KerberosClockSkewError,
  KerberosEnctypeError,
  KerberosKdcUnreachableError,
  KerberosLibraryMissingError,
  loadSecurityProvider,
  KerberosNoCredentialsError,
  KerberosPasswordExpiredError,
  KerberosTicketExpiredError,
  KerberosUnknownSpnError,
  spnFor,
} from '../../src/auth/index.js';
import { untilTicketExpired, useLab } from '../helpers/lab.js';

const ctx = useLab();

/**
 * A token made in a process of its own with `env`: Heimdal reads krb5.conf and the default ccache name
 * once per thread (its GSS krb5 context is thread-specific), so variables changed in this process would
 * not reach the pool threads that already made a token. Resolves with the error's name and message.
 */
function tokenInChild(env: NodeJS.ProcessEnv, host = 'localhost'): { name?: string; message?: string } {
  const script =
    `import('./src/auth/index.js').then(m => m.generateSpnegoToken(${JSON.stringify(host)})).then(` +
    "() => console.log('{}'), e => console.log(JSON.stringify({ name: e.name, message: e.message })))";
  const built = fileURLToPath(new URL('../../', import.meta.url));
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: built, encoding: 'utf8', env: { ...process.env, ...env } })) as { name?: string; message?: string };
}

/**
 * Every lab case runs with MIT's library and with Heimdal's (Debian libgssapi3-heimdal, installed beside
 * MIT by scripts/setup.sh), chosen through JAATO_GSSAPI_LIBRARY as a user would.
 */
for (const library of ['mit', 'heimdal'] as const) describe(library, () => {
  before(async () => {
    process.env.JAATO_GSSAPI_LIBRARY = library;
    const provider = await loadSecurityProvider().catch((e: unknown) => assert.fail(`${library}: ${String(e)} (Debian: ${library === 'mit' ? 'libgssapi-krb5-2' : 'libgssapi3-heimdal'})`));
    assert.equal(provider.info.family, library);
  });
  test(`${library}: a real SPNEGO token for HTTP@localhost from a kinit ticket`, async () => {
    const token = await generateSpnegoToken('localhost');
    const der = Buffer.from(token, 'base64');
    // An SPNEGO initial token is an [APPLICATION 0] GSS token carrying the SPNEGO OID 1.3.6.1.5.5.2.
    assert.equal(der[0], 0x60);
    assert.ok(der.includes(Buffer.from([0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02])), 'SPNEGO OID present');
    assert.ok(der.length > 500);
  });

  test(`${library}: every call makes a different token (single-use authenticators)`, async () => {
    const seen = new Set<string>();
    let published = 0;
    const onToken = (): void => void published++;
    subscribe('jaato-proxy:spnego-token', onToken);
    try {
      for (let i = 0; i < 5; i++) seen.add(await generateSpnegoToken('localhost'));
    } finally {
      unsubscribe('jaato-proxy:spnego-token', onToken);
    }
    assert.equal(seen.size, 5);
    assert.equal(published, 5);
  });

  test(`${library}: SPN override: option and JAATO_KERBEROS_SPN, both forms`, async () => {
    assert.equal(spnFor('proxy.corp'), 'HTTP@proxy.corp');
    assert.equal(spnFor('proxy.corp', { spn: 'HTTP/alias.corp' }), 'HTTP@alias.corp');
    assert.equal(spnFor('proxy.corp', { env: { JAATO_KERBEROS_SPN: 'HTTP@alias2' } }), 'HTTP@alias2');
    assert.ok((await generateSpnegoToken('127.0.0.1', { spn: ctx.lab.spnAlias })).length > 500);
  });

  test(`${library}: unknown service principal: typed error with the remedy`, async () => {
    await assert.rejects(generateSpnegoToken('no-such-proxy.jaato.test'), (e: unknown) => {
      assert.ok(e instanceof KerberosUnknownSpnError);
      assert.equal(e.code, 'ERR_JAATO_KERBEROS_UNKNOWN_SPN');
      assert.match(e.message, /JAATO_KERBEROS_SPN/);
      assert.match(e.message, /HTTP@no-such-proxy\.jaato\.test/);
      return true;
    });
  });

  test(`${library}: no credentials: typed error telling to run kinit`, async () => {
    const ccache = process.env.KRB5CCNAME;
    process.env.KRB5CCNAME = `FILE:${join(ctx.lab.dir, 'empty-ccache')}`;
    try {
      await assert.rejects(generateSpnegoToken('localhost'), (e: unknown) => {
        assert.ok(e instanceof KerberosNoCredentialsError);
        assert.match(e.message, /kinit/);
        return true;
      });
    } finally {
      process.env.KRB5CCNAME = ccache;
    }
  });

  test(`${library}: expired ticket: typed error telling to renew`, async () => {
    const ccache = `FILE:${join(ctx.lab.dir, 'short-ccache')}`;
    await ctx.lab.kinit({ lifetime: '2s', ccache: ccache.slice(5) });
    await untilTicketExpired(ccache);
    const out = tokenInChild({ KRB5CCNAME: ccache, JAATO_GSSAPI_LIBRARY: library });
    // Heimdal skips an expired ticket when it searches the cache and reports KRB5_CC_NOTFOUND: to it
    // the cache holds no usable ticket, and the remedy (kinit) is the same.
    const expected = library === 'heimdal' ? KerberosNoCredentialsError.name : KerberosTicketExpiredError.name;
    assert.equal(out.name, expected, JSON.stringify(out));
    assert.match(out.message ?? '', /kinit/);
  });

  test(`${library}: KDC unreachable: typed error (fresh ticket cache, KDC port closed)`, async () => {
    const ccache = join(ctx.lab.dir, 'kdc-down-ccache');
    await ctx.lab.kinit({ ccache });
    // A krb5.conf whose KDC is a closed port: the TGT is there, the service ticket cannot be had.
    const conf = join(ctx.lab.dir, 'krb5-dead-kdc.conf');
    const { writeKrb5Conf } = await import('../../lab/kdc.js');
    writeKrb5Conf(conf, ctx.lab.realm, 1);
    const out = tokenInChild({ KRB5CCNAME: `FILE:${ccache}`, KRB5_CONFIG: conf, JAATO_GSSAPI_LIBRARY: library });
    assert.equal(out.name, KerberosKdcUnreachableError.name, JSON.stringify(out));
    assert.match(out.message ?? '', /no KDC could be reached/);
  });

  test(`${library}: a ticket cache others can read: ${library === 'heimdal' ? 'Heimdal refuses it, and the error says why and how to fix it' : 'MIT reads it'}`, async () => {
    const ccache = join(ctx.lab.dir, `open-${library}-ccache`);
    await ctx.lab.kinit({ ccache });
    chmodSync(ccache, 0o644);
    const out = tokenInChild({ KRB5CCNAME: `FILE:${ccache}`, JAATO_GSSAPI_LIBRARY: library });
    if (library === 'mit') return assert.deepEqual(out, {});
    assert.equal(out.name, KerberosNoCredentialsError.name, JSON.stringify(out));
    assert.match(out.message ?? '', new RegExp(`Heimdal refuses the ticket cache ${ccache.replaceAll('.', '\\.')}: other users can read it\\. \`chmod 600 `));
  });

  // The KDC's answers about the account come from its AS exchange, which GSSAPI makes itself with a
  // client keytab (KRB5_CLIENT_KTNAME and an empty cache): a principal of each test's own, changed with
  // kadmin.local, stands for a disabled, expired or password-expired AD account.
  for (const [change, Expected] of [
    ['-allow_tix', KerberosAccountDisabledError],
    ['-expire "1 second ago"', KerberosAccountExpiredError],
    ['-pwexpire "1 second ago"', KerberosPasswordExpiredError],
  ] as const) {
    test(`${library}: modprinc ${change}: ${library === 'mit' ? Expected.name : 'no credentials (Heimdal hides the KDC code behind GSS_S_BAD_MECH)'}`, () => {
      const lab = ctx.lab;
      const user = `acct-${library}-${change.split(' ')[0]!.replace(/\W/g, '')}`;
      const env = { ...process.env, ...lab.env };
      const kadmin = (query: string): void => {
        const r = spawnSync('kadmin.local', ['-r', lab.realm, '-q', query], { env, encoding: 'utf8' });
        assert.equal(r.status, 0, `kadmin.local ${query}: ${r.stderr}`);
      };
      const keytab = join(lab.dir, `${user}.keytab`);
      kadmin(`addprinc -pw ${user}-pw ${user}`);
      kadmin(`ktadd -norandkey -k ${keytab} ${user}`);
      kadmin(`modprinc ${change} ${user}`);
      const out = tokenInChild({ KRB5CCNAME: `FILE:${join(lab.dir, `${user}-ccache`)}`, KRB5_CLIENT_KTNAME: keytab, JAATO_GSSAPI_LIBRARY: library });
      assert.equal(out.name, library === 'mit' ? Expected.name : KerberosNoCredentialsError.name, JSON.stringify(out));
    });
  }

  test(`${library}: krb5.conf allows no encryption type the service has: ${library === 'mit' ? 'KerberosEnctypeError' : 'Heimdal ignores default_tgs_enctypes here'}`, async () => {
    const conf = join(ctx.lab.dir, `etype-${library}.conf`);
    writeFileSync(conf, readFileSync(ctx.lab.env.KRB5_CONFIG as string, 'utf8').replace('[libdefaults]', '[libdefaults]\n  default_tgs_enctypes = camellia256-cts-cmac'));
    const ccache = join(ctx.lab.dir, `etype-${library}-ccache`);
    await ctx.lab.kinit({ ccache });
    const out = tokenInChild({ KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${ccache}`, JAATO_GSSAPI_LIBRARY: library });
    if (library === 'heimdal') return assert.deepEqual(out, {});
    assert.equal(out.name, KerberosEnctypeError.name, JSON.stringify(out));
    assert.match(out.message ?? '', /permitted_enctypes/);
  });

  test(`${library}: clock skew: typed error with the NTP remedy (the cache's KDC time offset makes this client 10 minutes ahead)`, async () => {
    // MIT's kdc_timesync keeps the client's offset to the KDC's clock in the FILE: cache header (tag 1,
    // DeltaTime), and both libraries add it to their own clock: the same as a skewed clock for the KDC,
    // with no faketime (which the pool threads would not see anyway).
    const ccache = join(ctx.lab.dir, `skew-${library}-ccache`);
    await ctx.lab.kinit({ ccache });
    const bytes = readFileSync(ccache);
    const tag = Buffer.alloc(12);
    tag.writeUInt16BE(1, 0); // DeltaTime
    tag.writeUInt16BE(8, 2);
    tag.writeInt32BE(600, 4); // seconds
    const rest = bytes.subarray(4 + bytes.readUInt16BE(2));
    writeFileSync(ccache, Buffer.concat([Buffer.from([5, 4, 0, tag.length]), tag, rest]), { mode: 0o600 });
    const out = tokenInChild({ KRB5CCNAME: `FILE:${ccache}`, JAATO_GSSAPI_LIBRARY: library });
    assert.equal(out.name, KerberosClockSkewError.name, JSON.stringify(out));
    assert.match(out.message ?? '', /clock.*NTP/);
  });

  test(`${library}: the name the library actually asked for, when DNS rewrote it: both names and the krb5.conf remedy`, async (t) => {
    // rdns = true: 127.0.0.1 becomes its PTR name, localhost (/etc/hosts), and [domain_realm] sends
    // localhost to a realm the KDC does not serve, so the rewritten name is refused.
    const conf = join(ctx.lab.dir, `rdns-${library}.conf`);
    const text = readFileSync(ctx.lab.env.KRB5_CONFIG as string, 'utf8')
      .replace('rdns = false', 'rdns = true')
      .replace('dns_canonicalize_hostname = false', 'dns_canonicalize_hostname = true')
      .replace(/^(\s*)localhost = \S+/m, '$1localhost = OTHER.TEST');
    writeFileSync(conf, text);
    const out = tokenInChild({ KRB5_CONFIG: conf, JAATO_GSSAPI_LIBRARY: library }, '127.0.0.1');
    assert.equal(out.name, KerberosUnknownSpnError.name, JSON.stringify(out));
    if (library === 'heimdal' && !/instead of/.test(out.message ?? '')) {
      // Heimdal does not rewrite through the PTR record (it has no rdns setting): the usual remedy.
      assert.match(out.message ?? '', /JAATO_KERBEROS_SPN/);
      t.diagnostic('Heimdal: no reverse-DNS rewriting; the plain unknown-SPN error');
      return;
    }
    assert.match(out.message ?? '', /the KDC does not know HTTP\/localhost@OTHER\.TEST, the name the Kerberos library asked for instead of HTTP@127\.0\.0\.1/);
    assert.match(out.message ?? '', /`rdns = false` and `dns_canonicalize_hostname = false`/);
    assert.doesNotMatch(out.message ?? '', /set JAATO_KERBEROS_SPN/);
  });

  test(`${library}: the principal option: a token with that principal's credentials; one the cache lacks is no credentials`, async () => {
    const alice = await NegotiateContext.start('HTTP@localhost', { principal: `alice@${ctx.lab.realm}` });
    assert.ok(Buffer.from(alice.token, 'base64').length > 500);
    alice.dispose();
    await assert.rejects(NegotiateContext.start('HTTP@localhost', { principal: `nobody@${ctx.lab.realm}` }), (e: unknown) => e instanceof KerberosNoCredentialsError);
  });

  test(`${library}: the library in use says which it is`, async () => {
    process.env.JAATO_GSSAPI_LIBRARY = library;
    const provider = await loadSecurityProvider();
    assert.equal(provider.info.family, library);
    const cred = await provider.inquireCredential();
    assert.equal(cred.principal, `alice@${ctx.lab.realm}`);
    assert.ok(cred.lifetimeSeconds !== undefined && cred.lifetimeSeconds > 60, String(cred.lifetimeSeconds));
  });
});

test('no library to load: typed error naming JAATO_GSSAPI_LIBRARY, what was tried, and the package (real: a library that is not there)', () => {
  const script =
    "import('./src/auth/index.js').then(m => m.generateSpnegoToken('localhost')).then(" +
    "() => console.log('{}'), e => console.log(JSON.stringify({ code: e.code, name: e.name, message: e.message })))";
  const built = fileURLToPath(new URL('../../', import.meta.url));
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: built, encoding: 'utf8', env: { ...process.env, JAATO_GSSAPI_LIBRARY: '/nonexistent/libgssapi_krb5.so.2' } })) as Record<string, string>;
  assert.equal(out.code, 'ERR_JAATO_KERBEROS_LIBRARY_MISSING');
  assert.equal(out.name, KerberosLibraryMissingError.name);
  assert.match(out.message ?? '', /JAATO_GSSAPI_LIBRARY=\/nonexistent\/libgssapi_krb5\.so\.2; tried \/nonexistent\/libgssapi_krb5\.so\.2 \(/);
  assert.match(out.message ?? '', /libgssapi-krb5-2.*krb5-libs/);
});
