import { KerberosAddonMissingError } from './errors.js';

/** The part of the `kerberos` package's API this library uses. */
export interface KerberosClient {
  step(challenge: string): Promise<string>;
  contextComplete: boolean;
}

export interface KerberosAddon {
  initializeClient(service: string, options: { mechOID?: number; flags?: number; principal?: string }): Promise<KerberosClient>;
  GSS_MECH_OID_SPNEGO: number;
  GSS_C_MUTUAL_FLAG: number;
  GSS_C_SEQUENCE_FLAG: number;
}

let loading: Promise<KerberosAddon> | undefined;

/**
 * Loads the native `kerberos` addon on first use only: it is an optional dependency, and users whose
 * proxies do not want Negotiate should never pay for (or need) it.
 */
export function loadKerberos(spn: string, platform: NodeJS.Platform = process.platform): Promise<KerberosAddon> {
  loading ??= importAddon(spn, 'kerberos', platform).catch((error: unknown) => {
    loading = undefined; // let a later call retry, e.g. after `npm install kerberos`
    throw error;
  });
  return loading;
}

async function importAddon(spn: string, specifier: string, platform: NodeJS.Platform): Promise<KerberosAddon> {
  try {
    // CommonJS addon: named exports or, depending on the loader, only `default`.
    const mod = (await import(specifier)) as Partial<KerberosAddon> & { default?: KerberosAddon };
    const addon = typeof mod.initializeClient === 'function' ? (mod as KerberosAddon) : mod.default;
    if (!addon || typeof addon.initializeClient !== 'function') throw new Error(`"${specifier}" has no initializeClient()`);
    return addon;
  } catch (error) {
    throw new KerberosAddonMissingError(spn, error, platform);
  }
}
