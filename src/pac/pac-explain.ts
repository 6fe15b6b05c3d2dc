import { configuredProxies, configWarnings, explain, explainRoute, failed, type Explanation, type PacExplanation } from '../config/explain.js';
import type { Env } from '../config/env.js';
import { toUrl } from '../config/host.js';
import { resolveConfig, type ProxyConfig, type ProxyOptions } from '../config/proxy-config.js';
import { systemPac } from '../config/system/settings.js';
import { redactUrl } from '../redact.js';
import { pacRoutes, pacSetting } from './pac-route.js';

/**
 * `explain` with the PAC taken into account: with a PAC configured (the `pac` option or
 * `JAATO_PAC_URL`), the PAC is fetched and asked, as a request would ask it, and the explanation
 * shows its raw answer, the entries in the order they would be tried, and the first one as the route.
 */
export async function explainWithPac(url: string | URL, env: Env = process.env, options: Omit<ProxyOptions, 'env'> & { pac?: string } = {}): Promise<Explanation> {
  const { pac, ...routing } = options;
  // The OS's settings (`system`, when they are the source) may name a PAC too, or WPAD.
  const setting = pacSetting(pac, env) ?? systemPac(routing.system);
  if (!setting) return explain(url, env, routing);
  const shown = redactUrl(url);
  const base: PacExplanation = { url: redactUrl(setting.url), source: setting.source, answer: null, entries: [], skipped: [] };
  let config;
  try {
    config = resolveConfig({ ...routing, env });
  } catch (error) {
    return failed(shown, error, [], base);
  }
  const warnings = [...configWarnings(config), ...precedence(config, setting.source)];
  try {
    const { routes, decision } = await pacRoutes(toUrl(url), config, setting);
    const [first] = routes;
    if (!first) throw new Error('unreachable: a PAC decision has at least one entry');
    if (!decision) return explainRoute(shown, first, config, warnings, base);
    const entries = routes.map((r) => (r.type === 'direct' ? 'DIRECT' : r.proxy.redacted));
    return explainRoute(shown, first, config, warnings, { ...base, answer: decision.raw, entries, skipped: decision.skipped });
  } catch (error) {
    return failed(shown, error, warnings, base);
  }
}

/** The PAC wins over the proxy variables: say so when both are set, so nobody wonders which applies. */
function precedence(config: ProxyConfig, source: string): string[] {
  const named = new Set(configuredProxies(config).map((p) => p.source));
  return named.size === 0 ? [] : [`${source} is set, so the PAC chooses the proxy: ${[...named].join(', ')} ${named.size === 1 ? 'is' : 'are'} not used`];
}
