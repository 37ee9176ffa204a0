import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogitsPrediction, StageEntropyModel } from '@unimic/models';
import { mix32 } from '@unimic/protocol';
import { planeBuilders } from '../packages/models/src/entropy/context-free.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../packages/transport/test/chromium-harness.ts';
import type { BrowserEntropy } from './fixtures/browser-entropy.ts';
import {
  bitsByGroup,
  compare,
  decodeJob,
  decodeJobs,
  differingStreams,
  encodeJob,
  encodeJobs,
  hashesOf,
  randomJobs,
  scheduleOf,
  wireBytes,
  type Comparison,
  type EncodedJob,
  type Job,
  type Models,
} from './fixtures/cross-runtime.ts';
import { captionOf, kodakGrids, openModel } from './fixtures/entropy-code.ts';

/*
 * Cross-runtime bit-exactness of the learned entropy models. Chromium runs the same TypeScript
 * (bundled) on onnxruntime-web's wasm build as Node does; each side encodes every job and decodes
 * the other side's streams: Chromium → Node and Node → Chromium. Every token must come back and
 * every table the decoder builds must hash the same as the one the encoder coded with (compared
 * table by table, counted, never skipped); the two encoders' bytes must also be identical.
 *
 * Jobs: the 24 Kodak grids with the masked and the text-conditional model (8-stage cosine
 * schedules, captions as in entropy-code.ts), and 500 seeded random grids (uniform over the 8192
 * codes, one token repeated, a palette of four, a power law), 1–2 stages each. CI runs a subset
 * (the first KODAK_CI Kodak grids per model and RANDOM_CI random grids); UNIMIC_FULL=1 runs all.
 * Node and Chromium work concurrently (two processes, two cores).
 */

const root = path.resolve(import.meta.dirname, '..');
const packDir = path.join(root, 'models/default');
const manifest = existsSync(path.join(packDir, 'manifest.json')) ? readFileSync(path.join(packDir, 'manifest.json'), 'utf8') : '';
const ortDist = path.join(root, 'node_modules/onnxruntime-web/dist');
const hasModels = manifest.includes('"entropy.masked.backbone"') && manifest.includes('"entropy.text.backbone"');
const FULL = process.env.UNIMIC_FULL === '1';
const KODAK = FULL ? 24 : 6;
const RANDOM = FULL ? 500 : 100;

let nodeModels: Promise<Models> | undefined;
const loadNodeModels = () => (nodeModels ??= (async () => ({ masked: await openModel('masked', packDir), text: await openModel('text', packDir) }))());

const kodakJobs = (count: number): Job[] =>
  (['masked', 'text'] as const).flatMap((kind) =>
    Object.entries(kodakGrids)
      .slice(0, count)
      .map(([name, grid], n) => ({ id: `${kind} ${name}`, group: kind, kind, grid, caption: captionOf(n), stages: 8, seed: n })),
  );

/** The harness's verdict: any table or token mismatch, failed job or missing table fails the test. */
function assertExact(c: Comparison, jobs: readonly Job[]) {
  expect(c.problems).toEqual([]);
  expect(c.failedJobs).toBe(0);
  expect(c.tokenMismatches).toBe(0);
  expect(c.tableMismatches).toBe(0);
  expect(c.jobs).toBe(jobs.length);
  expect(c.tablesCompared).toBe(jobs.length * 256 * 5);
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe.skipIf(!existsSync(CHROMIUM_PATH) || !hasModels)('entropy models across runtimes: Chromium ⇄ Node (onnxruntime-web wasm on both)', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const t0 = performance.now();
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
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'unimic' in globalThis);
    await Promise.all([page.evaluate(() => (globalThis as unknown as { unimic: BrowserEntropy }).unimic.load()), loadNodeModels()]);
    console.log(`setup (bundle, Chromium, both models in both runtimes): ${secs(performance.now() - t0)}`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  const browserEncode = (jobs: Job[]) => page.evaluate((j) => (globalThis as unknown as { unimic: BrowserEntropy }).unimic.encode(j), jobs);
  const browserDecode = (jobs: Job[], enc: EncodedJob[]) =>
    page.evaluate(([j, e]) => (globalThis as unknown as { unimic: BrowserEntropy }).unimic.decode(j, e), [jobs, enc] as const);
  const timed = async <T>(f: () => Promise<T>) => {
    const t0 = performance.now();
    const result = await f();
    return { ms: performance.now() - t0, result };
  };

  async function bothWays(label: string, jobs: Job[]) {
    const models = await loadNodeModels();
    const t0 = performance.now();
    // each side encodes every job, concurrently…
    const [cEnc, nEnc] = await Promise.all([browserEncode(jobs), timed(() => encodeJobs(models, jobs))]);
    const t1 = performance.now();
    // …then decodes the other side's streams, concurrently
    const [cDec, nDec] = await Promise.all([browserDecode(jobs, nEnc.result), timed(() => decodeJobs(models, jobs, cEnc.result))]);
    const t2 = performance.now();
    const chromiumToNode = compare(jobs, cEnc.result, nDec.result);
    const nodeToChromium = compare(jobs, nEnc.result, cDec.result);
    const tokens = jobs.length * 256;
    const bits = ((wireBytes(cEnc.result) * 8) / tokens).toFixed(2);
    const groups = Object.entries(bitsByGroup(jobs, cEnc.result)).map(([g, b]) => `${g} ${b}`);
    console.log(
      `${label}: ${jobs.length} grids, ${tokens} tokens each way, ${bits} bits/token (${groups.join(', ')})\n` +
        `  Chromium → Node: ${chromiumToNode.tablesCompared} tables compared, ${chromiumToNode.tableMismatches} differ; ${chromiumToNode.tokenMismatches} tokens wrong; ${chromiumToNode.failedJobs} jobs failed\n` +
        `  Node → Chromium: ${nodeToChromium.tablesCompared} tables compared, ${nodeToChromium.tableMismatches} differ; ${nodeToChromium.tokenMismatches} tokens wrong; ${nodeToChromium.failedJobs} jobs failed\n` +
        `  encoders' bytes: ${differingStreams(cEnc.result, nEnc.result)} of ${jobs.length} streams differ\n` +
        `  time: encode ${secs(t1 - t0)} (Chromium ${secs(cEnc.ms)}, Node ${secs(nEnc.ms)}), decode ${secs(t2 - t1)} (Chromium ${secs(cDec.ms)}, Node ${secs(nDec.ms)})`,
    );
    assertExact(chromiumToNode, jobs);
    assertExact(nodeToChromium, jobs);
    // the two encoders' tables agree too, and so do their bytes
    expect(jobs.filter((_, n) => cEnc.result[n]?.tables !== nEnc.result[n]?.tables).length).toBe(0);
    expect(differingStreams(cEnc.result, nEnc.result)).toBe(0);
  }

  it(`${KODAK} Kodak grids × {masked, text}, 8 stages: Chromium → Node and Node → Chromium, 0 mismatches`, () => bothWays('Kodak', kodakJobs(KODAK)), FULL ? 1_800_000 : 300_000);
  it(`${RANDOM} random grids (uniform and skewed), 1–2 stages: Chromium → Node and Node → Chromium, 0 mismatches`, () => bothWays('random', randomJobs(RANDOM)), FULL ? 1_800_000 : 300_000);
});

/**
 * `model` with one decoder table changed: at stage call `call`, plane `plane`, position `index` of the
 * stage, the peak logit is nudged by `delta` before the table builder quantizes it. Every other table
 * is the model's own.
 */
function nudged(model: StageEntropyModel, at: { call: number; index: number; plane: number; delta: number }): StageEntropyModel {
  const builders = planeBuilders(model.planes.sizes);
  let calls = 0;
  return {
    name: `${model.name} (nudged)`,
    planes: model.planes,
    predictStage: async (grid, positions, text) => {
      const call = calls++;
      const p = (await model.predictStage(grid, positions, text)) as LogitsPrediction;
      return {
        size: p.size,
        tablesForTokens: (tokens) => p.tablesForTokens(tokens),
        planeTables: async (plane, digits) => {
          if (call !== at.call || plane !== at.plane) return p.planeTables(plane, digits);
          const L = model.planes.sizes[plane] as number;
          const logits = (await p.planeLogits(plane, digits)).slice();
          const row = logits.subarray(at.index * L, (at.index + 1) * L);
          const peak = row.indexOf(Math.max(...row)); // the peak, the most visible logit
          row[peak] = (row[peak] as number) + at.delta;
          return (i) => (builders[plane] as (typeof builders)[number]).fromLogits(logits.subarray(i * L, (i + 1) * L));
        },
      };
    },
  };
}

describe.skipIf(!hasModels)('the cross-runtime harness cannot pass silently (Node only)', () => {
  const job: Job = { id: 'masked kodim01, 2 stages', group: 'masked', kind: 'masked', grid: Object.values(kodakGrids)[0] as number[], caption: '', stages: 2, seed: 0 };

  it('an unperturbed decode passes; one logit nudged by 0.01 before quantization fails it, named to the table, with a typed error', async () => {
    const { masked } = await loadNodeModels();
    const enc = await encodeJob(masked as StageEntropyModel, job);
    assertExact(compare([job], [enc], [await decodeJob(masked as StageEntropyModel, job, enc)]), [job]);

    const dec = await decodeJob(nudged(masked as StageEntropyModel, { call: 1, index: 3, plane: 0, delta: 0.01 }), job, enc);
    const c = compare([job], [enc], [dec]);
    console.log(`nudged table: ${c.tableMismatches} of ${c.tablesCompared} tables differ, decode: ${dec.error ?? `${c.tokenMismatches} tokens wrong`}`);
    expect(hashesOf(enc.tables).length).toBe(256 * 5);
    expect(c.tableMismatches).toBeGreaterThanOrEqual(1);
    // in coding order the first mismatch is the nudged table itself
    const stage0 = (scheduleOf(job)[0] as Uint16Array).length;
    expect(c.problems[0]).toContain(`first table mismatch at #${stage0 * 5 + 3} (stage 1, plane 0, position 3 of the stage`);
    expect(dec.error).toMatch(/^ERR_(CHECKSUM|CORRUPT_STREAM)/);
    expect(c.failedJobs).toBe(1);
    expect(() => assertExact(c, [job])).toThrow();
  }, 120_000);

  it('a stream decoded with a different model (text instead of masked) fails with a typed error and table mismatches', async () => {
    const { masked, text } = await loadNodeModels();
    const enc = await encodeJob(masked as StageEntropyModel, job);
    const dec = await decodeJob(text as StageEntropyModel, { ...job, kind: 'text' }, enc);
    const c = compare([job], [enc], [dec]);
    console.log(`other model: ${c.tableMismatches} of ${c.tablesCompared} tables differ, decode: ${dec.error}`);
    expect(c.tableMismatches).toBeGreaterThan(0);
    expect(dec.error).toMatch(/^ERR_/);
    expect(() => assertExact(c, [job])).toThrow();
  }, 120_000);

  it('a single flipped hash in the table log fails the comparison', () => {
    const grid = Array.from({ length: 256 }, (_, i) => i);
    const h = Uint32Array.from({ length: 256 * 5 }, (_, i) => mix32(i));
    const b64 = (u: Uint32Array) => Buffer.from(u.buffer).toString('base64');
    const flipped = h.slice();
    flipped[777] = (flipped[777] as number) ^ 1;
    const j: Job = { ...job, grid };
    const enc: EncodedJob = { stages: [], tables: b64(h), tableCount: 1280 };
    const c = compare([j], [enc], [{ grid, error: null, tables: b64(flipped), tableCount: 1280 }]);
    expect(c.tableMismatches).toBe(1);
    expect(c.problems[0]).toContain('#777 ');
    expect(() => assertExact(c, [j])).toThrow();
  });
});
