/**
 * `node --import jaato-proxy/register app.mjs`: routes the global fetch and the default http(s) agents
 * through jaato-proxy, configured from the environment, before the program runs. With
 * `JAATO_LOCAL_PROXY=true` it also starts the in-process local proxy for self-routing clients and
 * child processes, and waits for it (top-level await), so the program starts with the variables set.
 * `--require` loads register-require.ts instead (a required module cannot wait).
 */
import { install } from './adapters/global.js';
import { localProxyRequested } from './adapters/local-proxy-net.js';

if (localProxyRequested()) await install({ localProxy: true });
else install();
