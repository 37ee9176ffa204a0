import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../packages/transport/test/chromium-harness.ts';
import { captionOf, decodeAll, kodakGrids, type CodedFixture } from './fixtures/entropy-code.ts';

/*
 * The entropy models in the browser: Chromium runs the same TypeScript (bundled) on
 * onnxruntime-web's wasm, codes Kodak grids stage by stage, and Node decodes them — every token
 * back, every table hash equal.
 */

const root = path.resolve(import.meta.dirname, '..');
const packDir = path.join(root, 'models/default');
const manifest = existsSync(path.join(packDir, 'manifest.json')) ? readFileSync(path.join(packDir, 'manifest.json'), 'utf8') : '';
const ortDist = path.join(root, 'node_modules/onnxruntime-web/dist');
const GRIDS = 6;

describe.skipIf(!existsSync(CHROMIUM_PATH) || !manifest.includes('"entropy.text.backbone"'))('entropy models in Chromium, decoded in Node', () => {
  let server: Server;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    const bundle = await build({ entryPoints: [path.join(root, 'test/fixtures/browser-entropy.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent', external: ['brotli-wasm', 'node:*'] });
    const js = bundle.outputFiles[0]?.contents as Uint8Array;
    server = createServer((req, res) => {
      const u = req.url ?? '/';
      const send = (type: string, body: Uint8Array | string) => (res.setHeader('content-type', type), res.end(body));
      if (u === '/') return send('text/html', '<!doctype html><meta charset="utf-8"><script type="module" src="/bundle.js"></script>');
      if (u === '/bundle.js') return send('text/javascript', js);
      const file = u.startsWith('/ort/') ? path.join(ortDist, path.basename(u)) : u.startsWith('/pack/') ? path.join(packDir, path.basename(u)) : '';
      if (!file || !existsSync(file)) return (res.statusCode = 404), res.end();
      return send(file.endsWith('.wasm') ? 'application/wasm' : file.endsWith('.mjs') ? 'text/javascript' : 'application/octet-stream', readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  for (const kind of ['masked', 'text'] as const) {
    it(`${kind}: ${GRIDS} Kodak grids coded in Chromium decode in Node, 0 table mismatches`, async () => {
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForFunction(() => 'unimic' in globalThis);
      const grids = Object.entries(kodakGrids).slice(0, GRIDS);
      const captions = grids.map((_, i) => captionOf(i));
      const coded = (await page.evaluate(
        ([k, g, c]) => (globalThis as unknown as { unimic: { encode: (...a: unknown[]) => Promise<unknown> } }).unimic.encode(k, g, c),
        [kind, grids, captions] as const,
      )) as CodedFixture;
      await page.close();
      const decoded = await decodeAll(coded, packDir);
      for (const [name, g] of grids) expect(decoded.grids[name], name).toEqual(g);
      const enc = Object.entries(coded.tables);
      expect(enc.length).toBe(GRIDS * 256 * 5);
      expect(enc.filter(([key, h]) => decoded.tables[key] !== h).slice(0, 5)).toEqual([]);
      console.log(`${kind}: ${GRIDS} grids coded in Chromium (onnxruntime-web wasm), decoded in Node: 0 of ${enc.length} tables differ`);
    }, 240_000);
  }
});
