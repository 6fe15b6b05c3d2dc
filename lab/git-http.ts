import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler } from './origin.js';
import { run } from './processes.js';

const BACKEND = '/usr/lib/git-core/git-http-backend';

/**
 * A bare repository with one commit under `root`/`name`.git, for `git clone` over smart HTTP.
 * `files` are its contents; a big one makes the clone's POST (`git-upload-pack`) and pack large.
 */
export async function createBareRepo(root: string, name: string, files: Record<string, string | Buffer>): Promise<string> {
  const work = join(root, `${name}-work`);
  mkdirSync(work, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(work, file), content);
  const env = { ...process.env, GIT_AUTHOR_NAME: 'lab', GIT_AUTHOR_EMAIL: 'lab@jaato.test', GIT_COMMITTER_NAME: 'lab', GIT_COMMITTER_EMAIL: 'lab@jaato.test', HOME: root };
  await run('git', ['init', '-q', '-b', 'main', work], { env });
  await run('git', ['-C', work, 'add', '.'], { env });
  await run('git', ['-C', work, 'commit', '-q', '-m', 'lab'], { env });
  const bare = join(root, `${name}.git`);
  await run('git', ['clone', '-q', '--bare', work, bare], { env });
  return bare;
}

/**
 * Serves the bare repositories under `root` with git's own smart-HTTP CGI (`git http-backend`),
 * mounted on an origin at `prefix`: `git clone <origin>/<prefix>/<name>.git` then works.
 */
export function gitHttpBackend(root: string, prefix: string): Handler {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://origin');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: url.pathname.slice(prefix.length),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '',
    };
    // Without CONTENT_LENGTH the backend reads the body to EOF, which is what a chunked POST needs.
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
    const cgi = spawn(BACKEND, [], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    req.pipe(cgi.stdin);
    cgi.stdin.on('error', () => undefined);
    let head = Buffer.alloc(0);
    let started = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (started) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      started = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.statusCode = status;
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', (code) => {
      if (!started) res.writeHead(500).end(`git http-backend exited ${code}`);
      else res.end();
    });
  };
}
