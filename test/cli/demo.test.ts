import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, runCli, startCli } from './helpers.js';

// The demo's environment: PATH, and TMPDIR when set, since the lab goes where os.tmpdir() says and
// this test looks for it there.
const DEMO_ENV: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}) };

function labDirsOwnedBy(pid: number | undefined): string[] {
  return readdirSync(tmpdir())
    .filter((d) => d.startsWith('jaato-lab-'))
    .filter((d) => {
      try {
        return Number(readFileSync(join(tmpdir(), d, 'owner.pid'), 'utf8')) === pid;
      } catch {
        return false;
      }
    });
}

test('demo runs to its end: a Kerberos-authenticated request, serve used by curl, lab cleaned up', async () => {
  const r = await runCli(['demo'], DEMO_ENV);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /lab up in \d+ ms; alice@JAATO\.TEST has a ticket from a real kinit/);
  assert.match(r.stdout, /→ direct {2}because JAATO_NO_PROXY entry "localhost"/);
  assert.match(r.stdout, /→ direct {2}because NO_PROXY entry "\.internal\.example"/);
  assert.match(r.stdout, /with negotiate \(SPN HTTP@localhost\) {2}because HTTPS_PROXY/);
  assert.match(r.stdout, /CONNECT 127\.0\.0\.1:\d+ 200 alice@JAATO\.TEST/);
  assert.match(r.stdout, /curl got the origin's answer: GET \/from-curl/);
  assert.match(r.stdout, /Lab stopped and cleaned up\./);
});

test('demo: Ctrl-C tears the lab down', async () => {
  const { child } = await startCli(['demo'], DEMO_ENV, /lab up in/);
  assert.equal(labDirsOwnedBy(child.pid).length, 1);
  child.kill('SIGINT');
  assert.equal(await exited(child), 130);
  assert.deepEqual(labDirsOwnedBy(child.pid), []);
});
