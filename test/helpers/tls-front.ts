import { readFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import type { Lab } from '../../lab/lab.js';

/**
 * An `https://` proxy for tests: a TLS front with the lab CA's `localhost` certificate, relaying each
 * connection to the lab's Negotiate Squid (which has no TLS port of its own).
 */
export async function tlsFrontForSquid(lab: Lab): Promise<{ url: string; close(): void }> {
  const front = createServer({ key: readFileSync(join(lab.dir, 'origin.key')), cert: readFileSync(join(lab.dir, 'origin.pem')) }, (tls) => {
    const squid = connect(Number(new URL(lab.proxies.negotiate).port), '127.0.0.1');
    tls.pipe(squid).pipe(tls);
    tls.on('error', () => squid.destroy());
    squid.on('error', () => tls.destroy());
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return { url: `https://localhost:${(front.address() as AddressInfo).port}`, close: () => void front.close() };
}
