import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  generateSpnegoToken,
  KerberosKdcUnreachableError,
  KerberosNoCredentialsError,
  KerberosTicketExpiredError,
  KerberosUnknownSpnError,
  spnFor,
} from '../../src/auth/index.js';
import { useLab } from '../helpers/lab.js';

const ctx = useLab();

test('a real SPNEGO token for HTTP@localhost from a kinit ticket', async () => {
  const token = await generateSpnegoToken('localhost');
  const der = Buffer.from(token, 'base64');
  // An SPNEGO initial token is an [APPLICATION 0] GSS token carrying the SPNEGO OID 1.3.6.1.5.5.2.
  assert.equal(der[0], 0x60);
  assert.ok(der.includes(Buffer.from([0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02])), 'SPNEGO OID present');
  assert.ok(der.length > 500);
});

test('every call makes a different token (single-use authenticators)', async () => {
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

test('SPN override: option and JAATO_KERBEROS_SPN, both forms', async () => {
  assert.equal(spnFor('proxy.corp'), 'HTTP@proxy.corp');
  assert.equal(spnFor('proxy.corp', { spn: 'HTTP/alias.corp' }), 'HTTP@alias.corp');
  assert.equal(spnFor('proxy.corp', { env: { JAATO_KERBEROS_SPN: 'HTTP@alias2' } }), 'HTTP@alias2');
  assert.ok((await generateSpnegoToken('127.0.0.1', { spn: ctx.lab.spnAlias })).length > 500);
});

test('unknown service principal: typed error with the remedy', async () => {
  await assert.rejects(generateSpnegoToken('no-such-proxy.jaato.test'), (e: unknown) => {
    assert.ok(e instanceof KerberosUnknownSpnError);
    assert.equal(e.code, 'ERR_JAATO_KERBEROS_UNKNOWN_SPN');
    assert.match(e.message, /JAATO_KERBEROS_SPN/);
    assert.match(e.message, /HTTP@no-such-proxy\.jaato\.test/);
    return true;
  });
});

test('no credentials: typed error telling to run kinit', async () => {
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

test('expired ticket: typed error telling to renew', async () => {
  const ccache = `FILE:${join(ctx.lab.dir, 'short-ccache')}`;
  await ctx.lab.kinit({ lifetime: '2s', ccache: ccache.slice(5) });
  await new Promise((r) => setTimeout(r, 3000));
  const saved = process.env.KRB5CCNAME;
  process.env.KRB5CCNAME = ccache;
  try {
    await assert.rejects(generateSpnegoToken('localhost'), (e: unknown) => {
      assert.ok(e instanceof KerberosTicketExpiredError);
      assert.match(e.message, /kinit/);
      return true;
    });
  } finally {
    process.env.KRB5CCNAME = saved;
  }
});

test('KDC unreachable: typed error (fresh ticket cache, KDC port closed)', async () => {
  const ccache = join(ctx.lab.dir, 'kdc-down-ccache');
  await ctx.lab.kinit({ ccache });
  // A krb5.conf whose KDC is a closed port: the TGT is there, the service ticket cannot be had.
  const conf = join(ctx.lab.dir, 'krb5-dead-kdc.conf');
  const { writeKrb5Conf } = await import('../../src/lab/kdc.js');
  writeKrb5Conf(conf, ctx.lab.realm, 1);
  const saved = { c: process.env.KRB5CCNAME, k: process.env.KRB5_CONFIG };
  process.env.KRB5CCNAME = `FILE:${ccache}`;
  process.env.KRB5_CONFIG = conf;
  try {
    await assert.rejects(generateSpnegoToken('localhost'), (e: unknown) => {
      assert.ok(e instanceof KerberosKdcUnreachableError, String(e));
      assert.match(e.message, /KDC/);
      return true;
    });
  } finally {
    process.env.KRB5CCNAME = saved.c;
    process.env.KRB5_CONFIG = saved.k;
  }
});

test('addon not installed: typed error with how to install it (real: code run where no kerberos package exists)', () => {
  const built = fileURLToPath(new URL('../../src/', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'jaato-no-addon-'));
  try {
    cpSync(built, join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const script =
      "import('./src/auth/index.js').then(m => m.generateSpnegoToken('localhost')).then(" +
      "() => console.log('{}'), e => console.log(JSON.stringify({ code: e.code, name: e.name, message: e.message })))";
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' })) as Record<string, string>;
    assert.equal(out.code, 'ERR_JAATO_KERBEROS_ADDON_MISSING');
    assert.equal(out.name, 'KerberosAddonMissingError');
    assert.match(out.message ?? '', /npm install kerberos/);
    assert.match(out.message ?? '', /libkrb5-dev/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
