/**
 * Loads brotli-wasm for the current environment and installs it for compressText /
 * decompressText. Call at startup: `await ensureBrotli()` (or `await loadBrotli()` for the instance).
 *
 * Browser: the package's `browser` / `import` conditions give a build whose default export
 * is a promise of the initialised module. Node: see brotli-node.ts. The Node loader is
 * imported through a variable specifier (and bundler-ignore hints) so bundlers neither
 * follow nor bundle it.
 */
import { installBrotli } from './brotli.ts';
import type { BrotliImpl } from './brotli.ts';

const NODE_LOADER = './brotli-node.ts';

let loading: Promise<BrotliImpl> | undefined;

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof proc?.versions?.node === 'string';
}

async function load(): Promise<BrotliImpl> {
  if (isNode()) {
    const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ NODE_LOADER)) as {
      loadBrotliNode: () => BrotliImpl;
    };
    return mod.loadBrotliNode();
  }
  const mod = await import('brotli-wasm');
  const brotli = (await mod.default) as BrotliImpl;
  installBrotli(brotli);
  return brotli;
}

/** Idempotent: later calls share the first load. Installs the instance it loads. */
export function loadBrotli(): Promise<BrotliImpl> {
  if (loading === undefined) {
    loading = load().catch((err: unknown) => {
      loading = undefined; // allow a retry after a failed fetch
      throw err;
    });
  }
  return loading;
}

let ensuring: Promise<void> | undefined;

/**
 * Loads brotli-wasm and installs it for compressText / decompressText, once: concurrent and later
 * callers share one promise (a failed load is retried by the next call). Browser-safe like
 * loadBrotli.
 */
export function ensureBrotli(): Promise<void> {
  if (ensuring === undefined) {
    ensuring = loadBrotli().then(
      (brotli) => {
        installBrotli(brotli);
      },
      (err: unknown) => {
        ensuring = undefined;
        throw err;
      },
    );
  }
  return ensuring;
}
