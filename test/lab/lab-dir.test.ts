import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab } from '../../lab/lab.js';

test('a TMPDIR that Squid and Apache (users proxy, www-data) cannot enter is a clear lab error, before anything starts', async () => {
  const privateDir = mkdtempSync(join(tmpdir(), 'jaato-private-')); // mode 0700, as mktemp -d makes it
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = privateDir;
  try {
    await assert.rejects(startLab(), { code: 'ERR_JAATO_LAB_SETUP', message: new RegExp(`${privateDir} does not let other users through \\(mode 700\\).*chmod o\\+x`) });
    assert.deepEqual(readdirSync(privateDir), [], 'no lab directory was made');
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(privateDir, { recursive: true, force: true });
  }
});
