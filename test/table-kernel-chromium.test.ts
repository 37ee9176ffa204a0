import { existsSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../packages/transport/test/chromium-harness.ts';
import { tableHashes, type BrowserTables, type TableHashes } from './fixtures/browser-tables.ts';

/*
 * The WebAssembly SIMD table kernel in Chromium against Node: the same seeded logit rows (mostly
 * 8192 logits; masks, the −2^29 clamp, near-ties, peaks, a NaN row) built into tables on both sides,
 * with the SIMD kernel and with the JS one, and compared hash by hash. The page compiles the kernel
 * synchronously on its main thread, as an app would. A few seconds.
 */

const root = path.resolve(import.meta.dirname, '..');
const ROWS = 120;

describe.skipIf(!existsSync(CHROMIUM_PATH))('table kernels across runtimes: Chromium ⇄ Node', () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const bundle = await build({ entryPoints: [path.join(root, 'test/fixtures/browser-tables.ts')], bundle: true, format: 'iife', platform: 'browser', write: false, logLevel: 'silent' });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
    page = await browser.newPage();
    await page.setContent('<!doctype html><meta charset="utf-8"><title>unimic tables</title>');
    await page.addScriptTag({ content: bundle.outputFiles[0]?.text ?? '' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  const inPage = (kernel: 'auto' | 'simd' | 'js') =>
    page.evaluate(([k, n]) => (globalThis as unknown as { unimicTables: BrowserTables }).unimicTables.tableHashes(k, n), [kernel, ROWS] as const);

  const sameHashes = (a: TableHashes, b: TableHashes) => {
    expect(a.hashes.length).toBe(ROWS);
    const at = a.hashes.findIndex((h, i) => h !== b.hashes[i]);
    expect(at, `row ${at}: ${a.hashes[at]} vs ${b.hashes[at]}`).toBe(-1);
  };

  it('builds the same tables in Chromium (SIMD and JS) as in Node (SIMD and JS)', async () => {
    const nodeSimd = tableHashes('simd', ROWS);
    const nodeJs = tableHashes('js', ROWS);
    const pageAuto = await inPage('auto');
    const pageJs = await inPage('js');
    // Chromium has WebAssembly SIMD: the default builder must have used it, or this compares JS twice.
    expect(pageAuto.simdAvailable).toBe(true);
    expect(pageAuto.kernel).toBe('simd');
    expect(pageJs.kernel).toBe('js');
    expect(nodeSimd.kernel).toBe('simd');
    sameHashes(nodeSimd, nodeJs);
    sameHashes(pageAuto, nodeSimd);
    sameHashes(pageJs, nodeSimd);
    // The NaN row is refused with the same message on every side; every other row gives a table.
    expect(nodeSimd.hashes.filter((h) => h.startsWith('error:'))).toEqual(['error: ERR_INVALID_ARGUMENT: logit 4000 is NaN']);
    const speeds = await page.evaluate(() => (globalThis as unknown as { unimicTables: BrowserTables }).unimicTables.tableSpeeds());
    console.log(
      `${ROWS} tables equal across Node/Chromium × SIMD/JS (page: ${pageAuto.ms.toFixed(0)} ms SIMD, ${pageJs.ms.toFixed(0)} ms JS); ` +
        `Chromium µs per 8192-logit table: SIMD ${speeds.simd.toFixed(1)}, JS ${speeds.js.toFixed(1)}`,
    );
  });
});
