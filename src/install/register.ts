/**
 * `node --import jaato-proxy/register app.mjs`: routes the global fetch and the default http(s) agents
 * through jaato-proxy, configured from the environment, before the program runs. With
 * `JAATO_LOCAL_PROXY=true` it also starts the in-process local proxy for self-routing clients and
 * child processes, and waits for it (top-level await), so the program starts with the variables set;
 * and takes axios' own proxy handling off (adoptProgramAxios), as installAxios(axios) does.
 * `--require` loads register-require.ts instead (a required module cannot wait).
 */
import { adoptProgramAxios, install } from './global.js';
import { localProxyRequested } from './local-proxy-net.js';

if (localProxyRequested()) await install({ localProxy: true });
else install();
// Before the program runs: the axios it will import sends through the agents just installed.
await adoptProgramAxios();
