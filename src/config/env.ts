/** The environment the configuration layer reads: `process.env` unless a caller passes its own. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Variables consulted for a target's scheme, in order. Lower case wins over upper case where both are
 * set (curl, Python, undici); an `https:` target falls back to the HTTP proxy as the seed does.
 */
export const PROXY_VARIABLES: Readonly<Record<'http:' | 'https:', readonly string[]>> = {
  'http:': ['http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'],
  'https:': ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'],
};

/** `getProxyUrl()` with no target keeps the seed's meaning: first of HTTPS_PROXY, HTTP_PROXY. */
export const UNTARGETED_PROXY_VARIABLES: readonly string[] = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'];

export const NO_PROXY_VARIABLES: readonly string[] = ['no_proxy', 'NO_PROXY'];

/** The first of `names` set to a non-empty value. */
export function firstSet(env: Env, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { name, value };
  }
  return undefined;
}

/** Reads `JAATO_KERBEROS_PROXY`: true/1/yes enable, false/0/no/empty disable, anything else disables with a warning. */
export function parseKerberosFlag(value: string | undefined, variable = 'JAATO_KERBEROS_PROXY'): { enabled: boolean; warning?: string } {
  const v = (value ?? '').trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return { enabled: true };
  if (v === '' || v === 'false' || v === '0' || v === 'no') return { enabled: false };
  return {
    enabled: false,
    warning: `${variable}="${value}" is not one of true/1/yes or false/0/no: Kerberos proxy authentication stays off`,
  };
}
