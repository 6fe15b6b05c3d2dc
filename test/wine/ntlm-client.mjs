// Runs under Node for Windows in Wine (test/wine/sspi-ntlm.test.ts copies it beside the installed library).
// SSPI's NTLM package through the built library's NtlmAuthenticator, with the logged-on user (Wine's
// NTLM asks winbind's ntlm_auth for it): the first leg, and what the package says. Writes a JSON file,
// never a token: its length and NTLM's signature and message type only.
//   node.exe ntlm-client.mjs <auth index.js> <result.json> [challenge, base64]
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [library, resultPath, challenge] = process.argv.slice(2);
const { NtlmAuthenticator, loadSecurityProvider } = await import(pathToFileURL(library).href);
const result = { platform: process.platform };
try {
  const provider = await loadSecurityProvider();
  result.library = provider.info.library;
  const ntlm = new NtlmAuthenticator('localhost');
  try {
    const token = Buffer.from(await ntlm.start(), 'base64');
    result.tokenLength = token.length;
    result.signature = token.subarray(0, 8).toString('latin1').replace(/\0/g, '\\0');
    result.messageType = token.length >= 12 ? token.readUInt32LE(8) : undefined;
    if (challenge) {
      try {
        const next = await ntlm.step(challenge);
        const answer = Buffer.from(next.token ?? '', 'base64');
        result.step = { done: next.done, messageType: answer.length >= 12 ? answer.readUInt32LE(8) : undefined };
      } catch (error) {
        result.step = { error: { name: error?.name, code: error?.code, message: String(error?.message ?? error), call: error?.cause?.call, major: error?.cause?.major } };
      }
    }
  } finally {
    ntlm.dispose();
  }
} catch (error) {
  result.error = { name: error?.name, code: error?.code, message: String(error?.message ?? error), call: error?.cause?.call, major: error?.cause?.major };
}
writeFileSync(resultPath, JSON.stringify(result));
