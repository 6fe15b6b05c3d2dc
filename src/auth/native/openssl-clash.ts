import { createRequire } from 'node:module';

/**
 * Whether a GSSAPI mechanism that uses the system's libcrypto (gss-ntlmssp) would run on Node's own
 * OpenSSL instead. Node exports its bundled OpenSSL's symbols, and a plugin loaded into the process
 * binds to them before the system library it was built for. Measured on Debian 12 (system OpenSSL
 * 3.0): Node 20 (bundles 3.0) completes NTLM handshakes; Node 22 (3.5) fails them with gss-ntlmssp's
 * "Crypto routine failure". Returns the two versions when their major.minor differ, else undefined.
 */
export function opensslClash(): { node: string; system: string } | undefined {
  // Both versions are fixed for the process's life: read once, not a dlopen per NTLM handshake.
  if (known === undefined) known = { clash: compare() };
  return known.clash;
}

let known: { clash: { node: string; system: string } | undefined } | undefined;

function compare(): { node: string; system: string } | undefined {
  const node = process.versions.openssl;
  if (!node) return undefined;
  let system: string;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    // dlsym on the library's own handle finds the library's symbol, not Node's.
    const lib = koffi.load(process.platform === 'darwin' ? 'libcrypto.3.dylib' : 'libcrypto.so.3');
    const version = lib.func('unsigned long OpenSSL_version_num()') as () => number | bigint;
    const n = Number(version());
    system = `${(n >>> 28) & 0xf}.${(n >>> 20) & 0xff}`;
  } catch {
    return undefined; // no system libcrypto 3 to compare with: nothing known to clash
  }
  const [major, minor] = node.split('.');
  return `${major}.${minor}` === system ? undefined : { node, system };
}
