import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Origin } from '../../lab/origin.js';

function json(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function drain(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (c: Buffer) => (s += c.toString()));
    req.on('end', () => resolve(s));
  });
}

/** Minimal stand-ins for the APIs the SDKs call: just enough for each SDK to parse an answer. */
export function mountStandIns(origin: Origin): void {
  origin.mount('/v1/messages', (req, res) =>
    void drain(req).then(() =>
      json(res, {
        id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-stand-in', stop_reason: 'end_turn', stop_sequence: null,
        content: [{ type: 'text', text: 'hello from the anthropic stand-in' }], usage: { input_tokens: 1, output_tokens: 1 },
      }),
    ),
  );
  origin.mount('/v1/chat/completions', (req, res) =>
    void drain(req).then(() =>
      json(res, {
        id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'gpt-stand-in',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hello from the openai stand-in' }, finish_reason: 'stop' }],
      }),
    ),
  );
  origin.mount('/v1beta/models/', (req, res) =>
    void drain(req).then(() => json(res, { candidates: [{ content: { role: 'model', parts: [{ text: 'hello from the gemini stand-in' }] } }] })),
  );
  origin.mount('/repos/', (req, res) => void drain(req).then(() => json(res, { id: 1, full_name: 'octo/stand-in' })));
  mountMcp(origin);
}

/** A real MCP server (the SDK's own) on streamable HTTP, stateful so the client also opens its GET stream. */
function mountMcp(origin: Origin): void {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  origin.mount('/mcp', (req, res) => {
    void (async () => {
      const session = req.headers['mcp-session-id'];
      let transport = typeof session === 'string' ? transports.get(session) : undefined;
      if (!transport) {
        const server = new McpServer({ name: 'stand-in', version: '1.0.0' });
        server.tool('ping', async () => ({ content: [{ type: 'text', text: 'pong from the mcp stand-in' }] }));
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void transports.set(id, transport as StreamableHTTPServerTransport),
        });
        await server.connect(transport);
      }
      await transport.handleRequest(req, res);
    })();
  });
}
