// An https:// proxy whose certificate Node does not trust: doctor names what fixes it, and doctor and
// serve take --proxy-cacert as fetch does. The proxy is a TLS front (the lab CA's localhost
// certificate) for the lab's real Squid: the lab's Squid has no TLS port of its own.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EchoReply } from '../../lab/origin.js';
import { useLab } from '../helpers/lab.js';
import { tlsFrontForSquid } from '../helpers/tls-front.js';
import { curl, exited, labEnv, runCli, SERVE_READY, startCli, type DoctorCheck } from './helpers.js';

describe('an https:// proxy with an untrusted certificate', () => {
  const ctx = useLab();
  let front: { url: string; close(): void };
  let proxy = '';
  let caPath = '';

  before(async () => {
    const lab = ctx.lab;
    caPath = join(lab.dir, 'tls-proxy-ca.pem');
    writeFileSync(caPath, lab.ca);
    front = await tlsFrontForSquid(lab);
    proxy = front.url;
  });
  after(() => front.close());


  test('doctor: an https:// proxy with an untrusted certificate → ✗ proxy naming --proxy-cacert, proxyCa and NODE_EXTRA_CA_CERTS; each of them fixes it', async () => {
    const env = labEnv(ctx.lab, { HTTPS_PROXY: proxy, HTTP_PROXY: proxy });
    const r = await runCli(['doctor', '--json'], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const checks = (JSON.parse(r.stdout) as { checks: DoctorCheck[] }).checks;
    const line = checks.find((c) => c.name === 'proxy');
    assert.equal(line?.status, 'fail');
    assert.match(line?.detail ?? '', /Cannot connect to proxy https:\/\/localhost:\d+\/ \(from HTTPS_PROXY\)/);
    assert.equal(line?.remedy, "the proxy's certificate is not trusted: give its CA with --proxy-cacert <file> (the library's proxyCa option), or NODE_EXTRA_CA_CERTS=<file> for every Node program");
    const trusted = await runCli(['doctor', '--proxy-cacert', caPath], env);
    assert.equal(trusted.code, 0, trusted.stdout + trusted.stderr);
    assert.match(trusted.stdout, /✓ proxy auth +CONNECT example\.com:443 with a Negotiate token for HTTP@localhost: accepted/);
    const extra = await runCli(['doctor'], { ...env, NODE_EXTRA_CA_CERTS: caPath });
    assert.equal(extra.code, 0, extra.stdout + extra.stderr);
    // --proxy-insecure, as in fetch: the proxy's certificate not checked.
    const insecure = await runCli(['doctor', '--proxy-insecure'], env);
    assert.equal(insecure.code, 0, insecure.stdout + insecure.stderr);
    // And with a URL: the fetch through the TLS proxy too (the origin's CA with --cacert).
    const url = await runCli(['doctor', `${ctx.lab.origins.https.url}/tls`, '--proxy-cacert', caPath, '--cacert', caPath], env);
    assert.equal(url.code, 0, url.stdout + url.stderr);
    assert.match(url.stdout, /✓ fetch +200 OK/);
  });

  test('doctor and serve: a --proxy-cacert file that cannot be read is named, exit 1', async () => {
    for (const command of ['doctor', 'serve']) {
      const r = await runCli([command, '--proxy-cacert', join(ctx.lab.dir, 'no-such-ca.pem')], labEnv(ctx.lab));
      assert.equal(r.code, 1, command);
      assert.match(r.stderr, /^jaato-proxy: --proxy-cacert \S+no-such-ca\.pem: cannot read the CA file \(ENOENT/, command);
    }
  });

  test('serve -x https://… --proxy-cacert: the upstream TLS proxy trusted, a client without Kerberos served through it', async () => {
    const lab = ctx.lab;
    const url = `${lab.origins.https.url}/through-serve`;
    const { child, match } = await startCli(['serve', '--port', '0', '-x', proxy, '--proxy-cacert', caPath], labEnv(lab), SERVE_READY);
    try {
      const r = await curl(['--cacert', caPath, '-x', match[1] as string, url]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as EchoReply).url, '/through-serve');
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
    // Without it, serve cannot trust its upstream: the client gets serve's 502.
    const untrusting = await startCli(['serve', '--port', '0', '-x', proxy], labEnv(lab), SERVE_READY);
    try {
      const r = await curl(['-o', '/dev/null', '-w', '%{http_connect}', '--cacert', caPath, '-x', untrusting.match[1] as string, url]);
      assert.equal(r.stdout, '502', r.stderr);
    } finally {
      untrusting.child.kill('SIGTERM');
      await exited(untrusting.child);
    }
  });
});
