import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './processes.js';

export interface LabCertificates {
  /** PEM of the lab's throwaway CA: pass it as `ca` to trust the HTTPS origin. */
  ca: string;
  key: string;
  cert: string;
}

/** A throwaway CA and a server certificate for localhost, 127.0.0.1 and 127.0.0.2 (EC keys: fast). */
export async function createCertificates(dir: string): Promise<LabCertificates> {
  const p = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=jaato-proxy lab CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', ['req', ...ec, '-keyout', p('origin.key'), '-out', p('origin.csr'), '-subj', '/CN=localhost']);
  writeFileSync(
    p('origin.ext'),
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2\n',
  );
  await run('openssl', [
    'x509', '-req', '-in', p('origin.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-out', p('origin.pem'), '-days', '2', '-extfile', p('origin.ext'),
  ]);
  return {
    ca: readFileSync(p('ca.pem'), 'utf8'),
    key: readFileSync(p('origin.key'), 'utf8'),
    cert: readFileSync(p('origin.pem'), 'utf8'),
  };
}
