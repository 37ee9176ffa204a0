import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bpeEncode } from '@unimic/protocol';
import { MaskedEntropyModel, TableLog, UNKNOWN, loadPack } from '@unimic/models';
import { folderReader, nativeRuntime } from '@unimic/models/node';
import { captionOf, decodeAll, kodakGrids, scheduleFor, type CodedFixture } from './fixtures/entropy-code.ts';

/*
 * Bit-exactness between two peers: one process encodes all 24 Kodak grids stage by stage with a
 * learned entropy model, this process decodes them from the bytes alone. Every token must come
 * back and every table the decoder builds must hash the same as the encoder's (a desync would be
 * named down to the table, and would fail, never pass silently).
 */

const root = path.resolve(import.meta.dirname, '..');
const packDir = process.env.UNIMIC_PACK ?? path.join(root, 'models/default');
const manifest = existsSync(path.join(packDir, 'manifest.json')) ? readFileSync(path.join(packDir, 'manifest.json'), 'utf8') : '';

async function crossProcess(kind: 'masked' | 'text') {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'unimic-xproc-')), 'coded.json');
  await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(root, 'test/fixtures/entropy-code.ts'), 'encode', kind, packDir, out], { cwd: root, timeout: 240_000 });
  const coded = JSON.parse(readFileSync(out, 'utf8')) as CodedFixture;
  expect(coded.images.length).toBe(24);
  const decoded = await decodeAll(coded, packDir);
  for (const [name, g] of Object.entries(kodakGrids)) expect(decoded.grids[name], name).toEqual(g);
  const enc = Object.entries(coded.tables);
  expect(enc.length).toBe(24 * 256 * 5); // every digit of every token had a table
  const mismatches = enc.filter(([key, h]) => decoded.tables[key] !== h);
  expect(mismatches.slice(0, 5)).toEqual([]);
  const bytes = coded.images.reduce((a, im) => a + im.stages.flat().reduce((b, c) => b + Buffer.from(c, 'base64').length, 0), 0);
  // negative control: the same model on native onnxruntime-node builds other tables (its kernels
  // round differently), which is why both peers pin the wasm build — and shows this check can fail
  const pack = await loadPack(folderReader(packDir));
  const log = new TableLog();
  const native = log.wrap(await MaskedEntropyModel.fromPack(pack, kind, nativeRuntime(1)));
  const [name, g] = Object.entries(kodakGrids)[0] as [string, number[]];
  const text = kind === 'text' ? Array.from(bpeEncode(captionOf(0))) : undefined;
  const known = new Int32Array(256).fill(UNKNOWN);
  for (const positions of scheduleFor(0).stages) {
    const at = await (await native.predictStage(known, positions, text)).tablesForTokens(Array.from(positions, (p) => g[p] as number));
    for (let i = 0; i < positions.length; i++) for (let k = 0; k < 5; k++) at(i, k);
    for (const p of positions) known[p] = g[p] as number;
  }
  const nativeDiffers = [...log.entries].filter(([key, h]) => coded.tables[key] !== h).length;
  console.log(`${kind}: ${name} on onnxruntime-node (native) instead of wasm: ${nativeDiffers} of ${log.entries.size} tables differ`);
  console.log(`${kind}: 24 Kodak grids coded in one process, decoded in another: 0 token and 0 table mismatches of ${enc.length}; ${((bytes * 8) / (24 * 256)).toFixed(2)} bits/token on the wire`);
}

describe('entropy coding across processes (onnxruntime-web wasm on both sides)', () => {
  it.skipIf(!manifest.includes('"entropy.masked.backbone"'))('masked model: 24 Kodak grids, 0 mismatches', () => crossProcess('masked'), 600_000);
  it.skipIf(!manifest.includes('"entropy.text.backbone"'))('text-conditional model: 24 Kodak grids with captions, 0 mismatches', () => crossProcess('text'), 600_000);
});
