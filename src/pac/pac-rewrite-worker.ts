import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

// The rewrite pac-resolver itself applies, loaded as pac-resolver loads it (degenerator is its dependency, not ours).
const require = createRequire(import.meta.url);
const path = createRequire(require.resolve('pac-resolver')).resolve('degenerator');
const { degenerator } = (await import(pathToFileURL(path).href)) as { degenerator: (code: string, names: string[]) => string };
const { text, names } = workerData as { text: string; names: string[] };
try {
  parentPort?.postMessage({ code: degenerator(text, names) });
} catch (error) {
  const e = error as Error;
  parentPort?.postMessage({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(error) });
}
