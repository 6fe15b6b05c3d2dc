import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createCertificates } from '../../lab/certs.js';
import { startHttpsOrigin } from '../../lab/origin.js';
import { useLab } from '../helpers/lab.js';

const ctx = useLab({ kinit: false });
const run = promisify(execFile);
const DIST = fileURLToPath(new URL('../../../dist/index.js', import.meta.url));

// In a process that trusts a second CA through NODE_EXTRA_CA_CERTS, `ca` adds the lab's CA: both the
// origin signed by the lab's CA and the one signed by the extra CA verify, with fetch and node:https.
const PROGRAM = `
import https from 'node:https';
import { createFetch, createAgents } from ${JSON.stringify(DIST)};
const [labCa, labUrl, extraUrl] = JSON.parse(process.argv[1]);
const options = { ca: labCa, env: {} };
const f = createFetch(options);
const agents = createAgents(options);
const viaAgent = (url) => new Promise((resolve) => https.get(url, { agent: agents.https }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', (e) => resolve(e.code)));
const viaFetch = (url) => f(url).then((r) => r.status, (e) => e.cause?.code ?? e.message);
const out = { fetchLab: await viaFetch(labUrl), fetchExtra: await viaFetch(extraUrl), agentLab: await viaAgent(labUrl), agentExtra: await viaAgent(extraUrl) };
const replacing = createFetch({ ...options, ca: undefined });
out.withoutCa = await replacing(labUrl).then((r) => r.status, (e) => e.cause?.code ?? e.message);
console.log(JSON.stringify(out));
await f.dispatcher.close(); await replacing.dispatcher.close(); agents.https.destroy();
`;

test('the ca option adds to Node\'s default trust (NODE_EXTRA_CA_CERTS still applies) for fetch and node:https', async () => {
  const lab = ctx.lab;
  const dir = join(lab.dir, 'extra-ca');
  mkdirSync(dir);
  const extra = await createCertificates(dir);
  writeFileSync(join(dir, 'extra-ca.pem'), extra.ca);
  const origin = await startHttpsOrigin(extra);
  try {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROGRAM, JSON.stringify([lab.ca, `${lab.origins.https.url}/lab`, `${origin.url}/extra`])], {
      env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: join(dir, 'extra-ca.pem') },
    });
    assert.deepEqual(JSON.parse(stdout), {
      fetchLab: 200,
      fetchExtra: 200,
      agentLab: 200,
      agentExtra: 200,
      // Without `ca`, the lab's CA is unknown: the check is real.
      withoutCa: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  } finally {
    await origin.close();
  }
});
