import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './processes.js';

export interface LabCertificates {
  /** PEM of the lab's throwaway CA: pass it as `ca` to trust the HTTPS origin. */
  ca: string;
  key: string;
  cert: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A throwaway CA and a server certificate for localhost, 127.0.0.1 and 127.0.0.2 (EC keys: fast). */
export async function createCertificates(dir: string): Promise<LabCertificates> {
  const p = (name: string): string => join(dir, name);
  await run('openssl', [
    'req', '-x509', ...EC, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=jaato-proxy lab CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const origin = await issueCertificate(dir, 'origin', ['DNS:localhost', 'IP:127.0.0.1', 'IP:127.0.0.2'], 'localhost');
  return { ca: readFileSync(p('ca.pem'), 'utf8'), ...origin };
}

/**
 * A server certificate from the lab's CA in `dir` (made by `createCertificates`) for exactly these
 * subjectAltNames (`DNS:name`, `IP:addr`), e.g. one valid for another name than the one a test dials.
 * Files are `<name>.key` / `<name>.pem` in `dir`.
 */
export async function issueCertificate(
  dir: string,
  name: string,
  altNames: readonly string[],
  commonName = name,
): Promise<{ key: string; cert: string }> {
  const p = (file: string): string => join(dir, file);
  await run('openssl', ['req', ...EC, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${commonName}`]);
  writeFileSync(p(`${name}.ext`), `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${altNames.join(',')}\n`);
  await run('openssl', [
    'x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-out', p(`${name}.pem`), '-days', '2', '-extfile', p(`${name}.ext`),
  ]);
  return { key: readFileSync(p(`${name}.key`), 'utf8'), cert: readFileSync(p(`${name}.pem`), 'utf8') };
}
