// `serve` in a process of its own, as the CLI runs it: started by bench/network.mjs (row 2) and
// bench/serve-profile.mjs. Argument: the upstream (Kerberos) proxy. Sends `{ url }` once listening;
// on 'cpu' sends its CPU time so far (process.cpuUsage), on 'stop' closes and exits (a --cpu-prof
// profile is written then).
import { startLocalProxy } from '../dist/server/local-proxy.js';

const serve = await startLocalProxy({ port: 0, proxy: process.argv[2], kerberos: true, env: {} });
process.on('message', async (m) => {
  if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
  if (m === 'stop') {
    await serve.close();
    process.disconnect();
  }
});
process.send({ url: serve.url });
