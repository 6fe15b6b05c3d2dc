import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Origin } from '../../lab/origin.js';

/** What GitHub Models answers on `/chat/completions` (OpenAI's shape), just enough for `@azure-rest/ai-inference`. */
export const STAND_IN_REPLY = 'hello from the github models stand-in';

function reply(req: IncomingMessage, res: ServerResponse, body: string): void {
  const request = JSON.parse(body || '{}') as { stream?: boolean; model?: string };
  const model = request.model ?? 'stand-in';
  if (request.stream) {
    // Server-sent events, one delta per word, then [DONE]: what the SDK's streaming path parses.
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const word of STAND_IN_REPLY.split(' ')) {
      res.write(`data: ${JSON.stringify({ id: 'chatcmpl-1', model, created: 0, choices: [{ index: 0, delta: { content: `${word} ` }, finish_reason: null }] })}\n\n`);
    }
    res.end('data: [DONE]\n\n');
    return;
  }
  const text = JSON.stringify({
    id: 'chatcmpl-1', object: 'chat.completion', created: 0, model,
    choices: [{ index: 0, message: { role: 'assistant', content: STAND_IN_REPLY }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    // Echoed so a test can prove no proxy credential reached the origin.
    seen: { authorization: req.headers.authorization ?? null, proxyAuthorization: req.headers['proxy-authorization'] ?? null },
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** Mounts the stand-in at `/chat/completions` (the endpoint's path, as on https://models.github.ai/inference). */
export function mountGitHubModels(origin: Origin): void {
  origin.mount('/chat/completions', (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => reply(req, res, body));
  });
}
