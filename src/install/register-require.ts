/**
 * `node --require jaato-proxy/register app.cjs`: as register.ts, for CommonJS. `require()` loads an ES
 * module only if it has no top-level await, so this one cannot wait for the local proxy to listen, and
 * the program's first child process could start before the variables name it: JAATO_LOCAL_PROXY asks
 * for `--import` instead of being half done.
 */
import { InvalidOptionError } from '../config/errors.js';
import { adoptProgramAxiosCommonJs, install } from './global.js';
import { localProxyRequested } from './local-proxy-net.js';

if (localProxyRequested()) {
  throw new InvalidOptionError('JAATO_LOCAL_PROXY', 'the in-process local proxy needs `node --import jaato-proxy/register` (an ES module preload that can wait for it to listen); --require cannot wait');
}
install();
adoptProgramAxiosCommonJs();
