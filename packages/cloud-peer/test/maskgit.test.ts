import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MaskedEntropyModel, UNKNOWN, loadPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { digitSampler, generateImage, openAfterStep, type ImageStep } from '../src/index.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const packDir = process.env.UNIMIC_PACK ?? path.join(root, 'models/default');
const manifest = existsSync(path.join(packDir, 'manifest.json')) ? readFileSync(path.join(packDir, 'manifest.json'), 'utf8') : '';
const kodak: Record<string, number[]> = JSON.parse(readFileSync(path.join(root, 'test/fixtures/kodak-grids.json'), 'utf8')).grids;

describe('MaskGIT schedule', () => {
  it('opens fewer cells every step and none after the last', () => {
    for (const steps of [1, 4, 8, 12]) {
      const open = Array.from({ length: steps }, (_, t) => openAfterStep(64, t, steps));
      expect(open.at(-1)).toBe(0);
      for (let t = 1; t < steps; t++) expect(open[t]).toBeLessThanOrEqual(open[t - 1] as number);
    }
  });
});

describe.skipIf(!manifest.includes('"entropy.masked.backbone"'))('MaskGIT over the masked model (real ONNX)', () => {
  async function run(seed: number, steps: number, context: () => Int32Array, target: Uint16Array) {
    const pack = await loadPack(folderReader(packDir), ['entropy.masked.backbone', 'entropy.masked.head']);
    const model = await MaskedEntropyModel.fromPack(pack, 'masked', wasmRuntime());
    const out: ImageStep[] = [];
    for await (const s of generateImage(digitSampler(model), { target, context, steps, seed })) out.push(s);
    return out;
  }

  it('inpaints exactly the target cells, each once, cosine-paced, deterministic for a seed', async () => {
    const g = Int32Array.from(kodak['kodim15.png'] as number[]);
    const target = Uint16Array.from({ length: 256 }, (_, i) => i).filter((i) => i % 16 >= 4 && i % 16 < 12 && i >> 4 >= 4 && i >> 4 < 12);
    const ctx = g.map((t, i) => (target.includes(i) ? UNKNOWN : t));
    const a = await run(7, 6, () => ctx, target);
    expect(a.length).toBe(6);
    const cells = a.flatMap((s) => Array.from(s.positions));
    expect(cells.sort((x, y) => x - y)).toEqual(Array.from(target));
    a.forEach((s, t) => expect(s.positions.length).toBe((t === 0 ? 64 : openAfterStep(64, t - 1, 6)) - openAfterStep(64, t, 6)));
    for (const s of a) for (const tok of s.tokens) expect(tok >= 0 && tok < 8192).toBe(true);
    const b = await run(7, 6, () => ctx, target);
    expect(b.map((s) => Array.from(s.tokens))).toEqual(a.map((s) => Array.from(s.tokens)));
    const c = await run(8, 6, () => ctx, target);
    expect(c.map((s) => Array.from(s.tokens))).not.toEqual(a.map((s) => Array.from(s.tokens)));
  }, 120_000);

  it('reads the context again every step (context arriving mid-generation is used)', async () => {
    const g = Int32Array.from(kodak['kodim20.png'] as number[]);
    const target = Uint16Array.from({ length: 32 }, (_, i) => 224 + i); // bottom two rows
    let reads = 0;
    const partial = g.map((t, i) => (i >= 224 || i % 2 ? UNKNOWN : t));
    const full = g.map((t, i) => (i >= 224 ? UNKNOWN : t));
    const steps = await run(3, 4, () => (reads++ < 2 ? partial : full), target);
    expect(reads).toBe(4);
    expect(steps.flatMap((s) => Array.from(s.positions)).length).toBe(32);
  }, 120_000);
});
