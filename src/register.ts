/**
 * `node --import jaato-proxy/register app.mjs` (or `--require jaato-proxy/register` for CommonJS):
 * routes the global fetch and the default http(s) agents through jaato-proxy, configured from the
 * environment, before the program runs.
 */
import { install } from './adapters/global.js';

install();
