import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBareRepo, gitHttpBackend } from '../../lab/git-http.js';
import { startHttpOrigin } from '../../lab/origin.js';
import { run } from '../../lab/processes.js';

test('lab git origin: git clone over smart HTTP gets the files, a 2 MiB one included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jaato-git-'));
  const origin = await startHttpOrigin();
  try {
    const big = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    await createBareRepo(dir, 'demo', { 'README.md': 'hello from the lab\n', 'big.bin': big });
    origin.mount('/git/', gitHttpBackend(dir, '/git'));
    const out = join(dir, 'clone');
    await run('git', ['clone', '-q', `${origin.url}/git/demo.git`, out], { env: { PATH: process.env.PATH, HOME: dir, GIT_TERMINAL_PROMPT: '0' } });
    assert.equal(readFileSync(join(out, 'README.md'), 'utf8'), 'hello from the lab\n');
    assert.ok(readFileSync(join(out, 'big.bin')).equals(big));
    assert.ok(origin.seen.some((s) => s.method === 'POST' && s.url.endsWith('/git-upload-pack')), 'smart HTTP, not dumb');
  } finally {
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
