import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemSettingsSource, systemKeyFor } from '../../src/system/system-source.js';

// The first read is synchronous: a settings command that hangs (a D-Bus that never answers) must not
// hang the program. It is cut at its bound and the settings are "none", with the reason as a problem.
test('a gsettings that never answers: the first read ends at its bound (3 s), mode none, the reason reported', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'jaato-hang-'));
  const saved = process.env.PATH;
  try {
    await writeFile(join(dir, 'gsettings'), '#!/bin/sh\nexec sleep 60\n');
    await chmod(join(dir, 'gsettings'), 0o755);
    process.env.PATH = `${dir}:${saved}`;
    const key = systemKeyFor({ XDG_CURRENT_DESKTOP: 'GNOME' }, {}, 'linux');
    assert.ok(key);
    const started = Date.now();
    const settings = new SystemSettingsSource().current(key);
    const took = Date.now() - started;
    assert.ok(took >= 2500 && took < 15_000, `bounded: ${took} ms`);
    assert.equal(settings.mode, 'none');
    assert.match(settings.problems.join('; '), /gsettings could not be read \(ETIMEDOUT\)/);
  } finally {
    process.env.PATH = saved;
    await rm(dir, { recursive: true, force: true });
  }
});
