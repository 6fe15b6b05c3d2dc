// Runs under Node for Windows in Wine (test/wine/sspi-ntlm.test.ts copies it beside the installed library).
// SSPI's NTLM package through the built library's NtlmAuthenticator. Writes a JSON file, never a token:
// lengths, NTLM's signature and message types, the names an AUTHENTICATE message carries.
//   node.exe ntlm-client.mjs <auth index.js> <result.json> <config JSON>
// config: { challenge?: base64 CHALLENGE to answer offline, proxy?: 'host:port' to run the handshake
// against (CONNECT to `target`), target?, user?: 'DOMAIN\user' } (the password in JAATO_TEST_PASSWORD).
// Without `user`, the logged-on user's credentials (Wine: winbind's cache).
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';

const [library, resultPath, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson ?? '{}');
const { NtlmAuthenticator, loadSecurityProvider } = await import(pathToFileURL(library).href);
const credentials = config.user ? { username: config.user, password: process.env.JAATO_TEST_PASSWORD ?? '' } : undefined;

/** What an NTLM message is: its type, and for an AUTHENTICATE message the domain and user it names (OEM or UTF-16 by its flags). */
function describeMessage(message) {
  const d = { signature: message.subarray(0, 8).toString('latin1').replace(/\0/g, '\\0'), messageType: message.length >= 12 ? message.readUInt32LE(8) : undefined };
  if (d.messageType === 3) {
    const unicode = (message.readUInt32LE(60) & 1) !== 0;
    const field = (at) => message.subarray(message.readUInt32LE(at + 4), message.readUInt32LE(at + 4) + message.readUInt16LE(at)).toString(unicode ? 'utf16le' : 'latin1');
    Object.assign(d, { domain: field(28), user: field(36) });
  }
  return d;
}

function describeError(error) {
  return { name: error?.name, code: error?.code, message: String(error?.message ?? error), call: error?.cause?.call, major: error?.cause?.major };
}

/** CONNECT with each token on one connection; the statuses the proxy answered, and its NTLM challenge. */
async function handshake(ntlm) {
  const [host, port] = config.proxy.split(':');
  const socket = net.connect(Number(port), host);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffered = '';
  const head = () => new Promise((resolve, reject) => {
    const on = (d) => {
      buffered += d.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = buffered.slice(0, end);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      buffered = buffered.slice(end + 4 + length);
      socket.off('data', on);
      resolve({ status: Number(text.slice(9, 12)), challenge: /\r\nproxy-authenticate:\s*NTLM\s+(\S+)/i.exec(text)?.[1] });
    };
    socket.on('data', on);
    socket.once('close', () => reject(new Error('the proxy closed the connection')));
  });
  const send = (token) => socket.write(`CONNECT ${config.target} HTTP/1.1\r\nHost: ${config.target}\r\nProxy-Authorization: NTLM ${token}\r\n\r\n`);
  const statuses = [];
  try {
    send(await ntlm.start());
    const first = await head();
    statuses.push(first.status);
    if (first.status !== 407 || !first.challenge) return { statuses };
    const next = await ntlm.step(first.challenge);
    send(next.token);
    statuses.push((await head()).status);
    return { statuses, authenticate: describeMessage(Buffer.from(next.token, 'base64')) };
  } finally {
    socket.destroy();
  }
}

const result = { platform: process.platform };
try {
  result.library = (await loadSecurityProvider()).info.library;
  const ntlm = new NtlmAuthenticator('localhost', { credentials });
  try {
    if (config.proxy) {
      result.handshake = await handshake(ntlm);
    } else {
      const token = Buffer.from(await ntlm.start(), 'base64');
      Object.assign(result, { tokenLength: token.length }, describeMessage(token));
      if (config.challenge) {
        try {
          const next = await ntlm.step(config.challenge);
          result.step = { done: next.done, ...describeMessage(Buffer.from(next.token ?? '', 'base64')) };
        } catch (error) {
          result.step = { error: describeError(error) };
        }
      }
    }
  } finally {
    ntlm.dispose();
  }
} catch (error) {
  result.error = describeError(error);
}
writeFileSync(resultPath, JSON.stringify(result));
