/**
 * Node-only loader. brotli-wasm's ESM entry (`import` condition) is the web build, which
 * fetch()es its .wasm by URL and fails under Node; its CommonJS entry is the synchronous
 * node build. Kept in its own file so browser bundles never see `node:module`.
 */
import { createRequire } from 'node:module';
import { installBrotli } from './brotli.ts';
import type { BrotliImpl } from './brotli.ts';

export function loadBrotliNode(): BrotliImpl {
  const brotli = createRequire(import.meta.url)('brotli-wasm') as BrotliImpl;
  installBrotli(brotli);
  return brotli;
}
