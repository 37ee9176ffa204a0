import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageTokenizer, downscaleAndCrop, loadPack, psnr, type LoadedPack } from '../src/index.ts';
import { folderReader, nativeRuntime, readPng } from '../src/node.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const packDir = process.env.UNIMIC_PACK ?? path.join(root, 'models/default');
const kodak = process.env.UNIMIC_KODAK ?? path.join(root, '../shared/data/kodak');

describe.skipIf(!existsSync(path.join(packDir, 'manifest.json')))('default pack tokenizer (real ONNX, onnxruntime-node)', () => {
  let pack: LoadedPack;

  it('loads and verifies the pack', async () => {
    pack = await loadPack(folderReader(packDir), ['tokenizer.encoder', 'tokenizer.decoder']);
    expect(pack.manifest.codebook.size).toBe(8192);
    expect(pack.manifest.image).toEqual({ width: 128, height: 128, downsample: 8 });
  });

  it.skipIf(!existsSync(kodak))('round-trips Kodak images: 16x16 tokens in range, deterministic, PSNR reported', async () => {
    const tok = await ImageTokenizer.create(pack, nativeRuntime());
    const results: number[] = [];
    for (const name of ['kodim01.png', 'kodim07.png', 'kodim23.png']) {
      const img = downscaleAndCrop(await readPng(path.join(kodak, name)), 4, 128);
      const grid = await tok.encode(img);
      expect([grid.width, grid.height]).toEqual([16, 16]);
      expect(grid.tokens.every((t) => t >= 0 && t < 8192)).toBe(true);
      const again = await tok.encode(img);
      expect(Array.from(again.tokens)).toEqual(Array.from(grid.tokens));
      const back = await tok.decode(grid);
      expect([back.width, back.height]).toEqual([128, 128]);
      results.push(psnr(img, back));
    }
    console.log(`tokenizer PSNR on 3 Kodak crops (÷4, centre 128): ${results.map((p) => p.toFixed(2)).join(', ')} dB`);
    // A working tokenizer reconstructs far better than a flat grey image (~10-13 dB).
    for (const p of results) expect(p).toBeGreaterThan(18);
  }, 60_000);

  it('refuses tokens outside the codebook', async () => {
    const tok = await ImageTokenizer.create(pack, nativeRuntime());
    await expect(tok.decode({ width: 16, height: 16, tokens: new Int32Array(256).fill(8192) })).rejects.toThrow(/outside the codebook/);
  });
});
