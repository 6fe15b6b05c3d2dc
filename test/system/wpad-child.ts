// Runs inside the mount namespace wpad-lab.test.ts makes (its own /etc/resolv.conf): fetches each URL
// given with no proxy variable, prints one JSON line per URL (status and Via, or the error), and the
// debug lines about WPAD on stderr.
import { subscribe } from 'node:diagnostics_channel';
import { createFetch } from '../../src/adapters/fetch.js';

subscribe('jaato-proxy:debug', (m) => {
  const message = (m as { message: string }).message;
  if (/WPAD|system proxy/.test(message)) process.stderr.write(`${message}\n`);
});

const env = JSON.parse(process.env.WPAD_CHILD_ENV ?? '{}') as Record<string, string>;
const fetch = createFetch({ env });
for (const url of process.argv.slice(2)) {
  try {
    const res = await fetch(url);
    const body = (await res.json()) as { headers: Record<string, string> };
    process.stdout.write(`${JSON.stringify({ url, status: res.status, via: body.headers.via ?? null })}\n`);
  } catch (error) {
    const e = error as { name: string; code?: string; message: string; cause?: { code?: string; message?: string } };
    process.stdout.write(`${JSON.stringify({ url, error: e.cause?.code ?? e.code ?? e.name, message: e.cause?.message ?? e.message })}\n`);
  }
}
