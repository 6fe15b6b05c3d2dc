import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, curl, runCli, SERVE_READY, type Result } from './helpers.js';

// Colour on a real pseudo-terminal: util-linux `script` runs the CLI with a pty as its terminal
// (-e: script exits with the command's code; -f: flush as it goes; -q: no banner).
const ESC = '\u001b[';
const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
// exec: the CLI is the terminal's foreground process itself, with no shell between (a shell given
// Ctrl-C as well would exit 130 on its own).
const command = (args: readonly string[], redirect = ''): string => `exec ${[process.execPath, CLI, ...args].map(sh).join(' ')}${redirect}`;

function inTerminal(args: readonly string[], env: NodeJS.ProcessEnv = {}, redirect = ''): Promise<Result> {
  return new Promise((resolve) => {
    execFile('script', ['-qefc', command(args, redirect), '/dev/null'], { env: { PATH: process.env.PATH, TERM: 'xterm', ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('colour on a terminal', () => {
  let origin: Server;
  let url = '';
  let dir = '';
  before(async () => {
    origin = createServer((req, res) => void req.resume().on('end', () => res.end('hello\n')));
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
    dir = mkdtempSync(join(tmpdir(), 'jaato-terminal-'));
  });
  after(() => {
    origin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const explainArgs = ['explain', 'https://x.example/'];
  const env = { NO_PROXY: '10.0.0.0/99' }; // a warning, so explain paints bold and yellow
  const BOLD_URL = `${ESC}1mhttps://x.example/${ESC}0m`;
  const YELLOW_WARNING = `${ESC}33mwarning:${ESC}0m`;

  test('on a terminal explain is coloured; an empty NO_COLOR counts as unset', async () => {
    for (const e of [env, { ...env, NO_COLOR: '' }, { ...env, FORCE_COLOR: '' }]) {
      const r = await inTerminal(explainArgs, e);
      assert.equal(r.code, 0, r.stdout);
      assert.ok(r.stdout.includes(BOLD_URL), JSON.stringify(r.stdout));
      assert.ok(r.stdout.includes(YELLOW_WARNING), JSON.stringify(r.stdout));
    }
  });

  test('on a terminal: NO_COLOR=1, FORCE_COLOR=0 and TERM=dumb turn colour off', async () => {
    for (const e of [{ NO_COLOR: '1' }, { FORCE_COLOR: '0' }, { FORCE_COLOR: 'false' }, { TERM: 'dumb' }]) {
      const r = await inTerminal(explainArgs, { ...env, ...e });
      assert.equal(r.code, 0);
      assert.match(r.stdout, /https:\/\/x\.example\//, 'the output is there');
      assert.ok(!r.stdout.includes(ESC), `${JSON.stringify(e)}: ${JSON.stringify(r.stdout)}`);
    }
  });

  test('not a terminal: never coloured, unless FORCE_COLOR (which wins over NO_COLOR)', async () => {
    const piped = await runCli(explainArgs, { PATH: process.env.PATH, TERM: 'xterm', ...env });
    assert.equal(piped.code, 0);
    assert.ok(!piped.stdout.includes(ESC) && !piped.stderr.includes(ESC));
    const verbose = await runCli(['fetch', '-v', url], { PATH: process.env.PATH, TERM: 'xterm' });
    assert.equal(verbose.stdout, 'hello\n');
    assert.match(verbose.stderr, /^\* route: direct/);
    assert.ok(!verbose.stderr.includes(ESC));
    for (const e of [{ FORCE_COLOR: '1' }, { FORCE_COLOR: '1', NO_COLOR: '1' }]) {
      const forced = await runCli(explainArgs, { PATH: process.env.PATH, ...env, ...e });
      assert.ok(forced.stdout.includes(BOLD_URL), JSON.stringify(e));
    }
  });

  test('each stream is judged on its own: stderr to a file stays plain while stdout is a terminal, and the reverse', async () => {
    const errFile = join(dir, 'stderr.txt');
    const toFile = await inTerminal(['fetch', '-v', url], {}, ` 2>${sh(errFile)}`);
    assert.equal(toFile.code, 0);
    assert.match(toFile.stdout, /hello/);
    const err = readFileSync(errFile, 'utf8');
    assert.match(err, /^\* route: direct/);
    assert.ok(!err.includes(ESC), JSON.stringify(err));
    const outFile = join(dir, 'stdout.txt');
    const onTerminal = await inTerminal(['fetch', '-v', url], {}, ` >${sh(outFile)}`);
    assert.equal(onTerminal.code, 0);
    assert.ok(onTerminal.stdout.includes(`${ESC}2m* route: direct`), JSON.stringify(onTerminal.stdout));
    assert.equal(readFileSync(outFile, 'utf8'), 'hello\n');
  });

  test('serve on a terminal: a coloured banner, a plain log line per request, Ctrl-C stops it cleanly', async () => {
    const child = spawn('script', ['-qefc', command(['serve', '--port', '0']), '/dev/null'], { env: { PATH: process.env.PATH, TERM: 'xterm', XDG_RUNTIME_DIR: dir }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const seen = (pattern: RegExp): Promise<RegExpExecArray> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not seen ${pattern}: ${JSON.stringify(out)}`)), 15_000);
        const check = (): void => {
          const m = pattern.exec(out);
          if (m) {
            clearTimeout(timer);
            child.stdout.off('data', check);
            resolve(m);
          }
        };
        child.stdout.on('data', check);
        check();
      });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await seen(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const banner = await seen(SERVE_READY);
      assert.ok(out.includes(`${ESC}1mjaato-proxy serve${ESC}0m`), JSON.stringify(out));
      assert.ok(out.includes(`${ESC}2m(upstream: none, direct; auth none)${ESC}0m`), JSON.stringify(out));
      const viaServe = await curl(['-x', banner[1] as string, url]);
      assert.equal(viaServe.stdout, 'hello\n');
      const line = await seen(/\r\n(\S+ 127\.0\.0\.1 GET 127\.0\.0\.1:\d+ direct 200 \d+B \d+ms)\r\n/);
      assert.ok(!(line[1] as string).includes(ESC), 'the access log is plain text, for grep');
      child.stdin.write('\u0003'); // Ctrl-C on the terminal: SIGINT to serve, the foreground process
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 0);
      assert.ok(out.includes(`${ESC}2mstopped${ESC}0m`), JSON.stringify(out));
    } finally {
      child.kill('SIGKILL');
    }
  });
});
