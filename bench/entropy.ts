import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TableBuilder, bpeEncode, buildSchedule, decodeChunk, type Schedule, type ScheduleKind } from '@unimic/protocol';
import {
  AutoregressiveModel,
  MaskedEntropyModel,
  UNKNOWN,
  decodeGridStage,
  encodeGridStage,
  loadPack,
  staticModel,
  uniformModel,
  type LoadedPack,
  type StageEntropyModel,
} from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { median, type Metric, type Suite } from './harness.ts';

/*
 * Rates of the pack's entropy models on Kodak (24 grids: box ÷4, centre 128x128, the committed
 * fixture), measured on the wire: the real chunks of the real coder, with and without the 8-byte
 * chunk headers; and their speed on onnxruntime-web wasm. Savings are ratios within this run.
 */

const root = path.resolve(import.meta.dirname, '..');
const packDir = process.env.UNIMIC_PACK ?? path.join(root, 'models/default');
const kodak: [string, Int32Array][] = Object.entries(JSON.parse(readFileSync(path.join(root, 'test/fixtures/kodak-grids.json'), 'utf8')).grids as Record<string, number[]>).map(
  ([n, g]) => [n, Int32Array.from(g)],
);

interface Rate {
  wireBits: number;
  payloadBits: number;
  tokens: number;
  encodeStageMs: number[];
}

async function codeGrids(model: StageEntropyModel, grids: Int32Array[], kind: ScheduleKind, stages: number, text?: (i: number) => number[]): Promise<Rate> {
  const r: Rate = { wireBits: 0, payloadBits: 0, tokens: 0, encodeStageMs: [] };
  for (const [n, g] of grids.entries()) {
    const sched: Schedule = buildSchedule({ width: 16, height: 16, stages, kind, seed: n });
    const known = new Int32Array(256).fill(UNKNOWN);
    const t = text?.(n);
    for (const [stage, positions] of sched.stages.entries()) {
      const tokens = Array.from(positions, (p) => g[p] as number);
      const t0 = performance.now();
      const chunks = await encodeGridStage({ model, known, positions, tokens, ...(t ? { text: t } : {}), address: { stream: 0, message: n, stage, model: 0 } });
      r.encodeStageMs.push(performance.now() - t0);
      for (const c of chunks) {
        r.wireBits += c.length * 8;
        r.payloadBits += decodeChunk(c).payload.length * 8;
      }
      for (const p of positions) known[p] = g[p] as number;
    }
    r.tokens += g.length;
  }
  return r;
}

/**
 * The held-out captioned images of the training token cache (`training/run.py tokens`), when this
 * machine has it: their grids and first captions as BPE ids (from the compact ids of the cache and
 * the pack's caption vocabulary; UNK maps to an id outside it). Flickr8k is research-only data, so
 * this is read from the cache, never committed.
 */
function heldOutCaptions(pack: LoadedPack): { grids: Int32Array[]; captions: number[][] } | null {
  const dir = path.join(process.env.UNIMIC_RUNS ?? path.join(os.homedir(), '.cache/unimic/runs'), 'tokens');
  const vocabBytes = pack.files.get('entropy.text.vocab');
  if (!vocabBytes || !existsSync(path.join(dir, 'captions_val.npy'))) return null;
  const vocab = JSON.parse(new TextDecoder().decode(vocabBytes)) as { bpe_ids: number[] };
  const grids = readNpy(path.join(dir, 'captions_val.npy'));
  const images = readNpy(path.join(dir, 'captions_val_image.npy'));
  const text = readNpy(path.join(dir, 'captions_val_text.npy'));
  const [, five, T] = text.shape as [number, number, number];
  const known = new Set(vocab.bpe_ids);
  let unk = 0;
  while (known.has(unk)) unk++;
  const n = grids.shape[0] as number;
  return {
    grids: Array.from({ length: n }, (_, i) => Int32Array.from(grids.data.subarray(i * 256, (i + 1) * 256))),
    captions: Array.from({ length: n }, (_, i) => {
      const img = images.data[i] as number;
      const ids = Array.from(text.data.subarray(img * five * T, img * five * T + T)).filter((c) => c !== 0);
      return ids.map((c) => (c === 1 ? unk : (vocab.bpe_ids[c - 2] as number)));
    }),
  };
}

/** A little-endian int16/int32 .npy file (C order). */
function readNpy(file: string): { shape: number[]; data: Int32Array } {
  const buf = readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6] as number;
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').filter((x) => x.trim()).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order`);
  const body = buf.subarray(start + hlen);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Int32Array(count);
  if (descr === '<i2') for (let i = 0; i < count; i++) data[i] = body.readInt16LE(2 * i);
  else if (descr === '<i4') for (let i = 0; i < count; i++) data[i] = body.readInt32LE(4 * i);
  else throw new Error(`${file}: dtype ${descr} not supported`);
  return { shape, data };
}

export const entropySuite: Suite = {
  name: 'entropy',
  async run(report) {
    const manifestPath = path.join(packDir, 'manifest.json');
    if (!existsSync(manifestPath)) {
      process.stderr.write(`entropy: no pack at ${packDir}, skipped\n`);
      return;
    }
    const pack: LoadedPack = await loadPack(folderReader(packDir));
    const runtime = wasmRuntime();
    const grids = kodak.map(([, g]) => g);
    const bpt = (name: string, r: Rate, note: string, goal?: Metric['goal']) => {
      report({ name: `bits_per_token.${name}`, value: +(r.payloadBits / r.tokens).toFixed(4), unit: 'bits', note: `${note}; payload only`, ...(goal ? { goal } : {}) });
      report({ name: `bits_per_token.${name}.wire`, value: +(r.wireBits / r.tokens).toFixed(4), unit: 'bits', note: 'with chunk headers' });
      report({ name: `bpp.${name}`, value: +(r.wireBits / r.tokens / 64).toFixed(5), unit: 'bpp', note: 'wire bits per pixel of the 128x128 image (256 tokens)' });
    };
    const uniform = await codeGrids(uniformModel(8192), grids, 'cosine', 8);
    bpt('uniform', uniform, '24 Kodak grids, cosine 8 stages');
    const rates: Record<string, Rate> = { uniform };
    const counts = pack.files.get('entropy.static.counts');
    if (counts) {
      rates.static = await codeGrids(staticModel(counts, 8192), grids, 'cosine', 8);
      bpt('static', rates.static, 'unigram histogram of the training tokens');
    }
    if (pack.files.has('entropy.masked.backbone')) {
      const masked = await MaskedEntropyModel.fromPack(pack, 'masked', runtime);
      rates.masked = await codeGrids(masked, grids, 'cosine', 8);
      bpt('masked_s8', rates.masked, 'masked model, cosine schedule, 8 stages (the protocol default)');
      report({ name: 'entropy.masked.stage_encode_ms', value: +median(rates.masked.encodeStageMs).toFixed(1), unit: 'ms', note: 'median per stage: backbone + head + coding, wasm 1 thread' });
      const c2f = await codeGrids(masked, grids, 'coarse-to-fine', 5);
      bpt('masked_c2f5', c2f, 'coarse-to-fine, 5 stages');
      for (const stages of [1, 2, 4, 16]) {
        const r = await codeGrids(masked, grids.slice(0, 8), 'cosine', stages);
        bpt(`masked_s${stages}`, r, 'cosine, first 8 Kodak grids');
      }
      // decode speed: one stage from its chunks, as a receiver does it
      const g = grids[0] as Int32Array;
      const sched = buildSchedule({ width: 16, height: 16, stages: 8, kind: 'cosine', seed: 0 });
      const known = new Int32Array(256).fill(UNKNOWN);
      const decodeMs: number[] = [];
      for (const [stage, positions] of sched.stages.entries()) {
        const tokens = Array.from(positions, (p) => g[p] as number);
        const chunks = await encodeGridStage({ model: masked, known, positions, tokens, address: { stream: 0, message: 0, stage, model: 0 } });
        const t0 = performance.now();
        await decodeGridStage({ model: masked, known, positions, chunks });
        decodeMs.push(performance.now() - t0);
        for (const p of positions) known[p] = g[p] as number;
      }
      report({ name: 'entropy.masked.stage_decode_ms', value: +median(decodeMs).toFixed(1), unit: 'ms', note: 'median per stage: backbone + 5 head runs + decoding' });
      const saving = (base: Rate) => 1 - rates.masked!.payloadBits / base.payloadBits;
      report({ name: 'entropy.masked8_saving_vs_uniform', value: +saving(uniform).toFixed(4), unit: 'ratio', goal: { op: '>=', value: 0.12 }, note: '1 − masked/uniform bits, same grids, same run' });
      if (rates.static) report({ name: 'entropy.masked8_saving_vs_static', value: +saving(rates.static).toFixed(4), unit: 'ratio', note: '1 − masked/static bits' });
    }
    if (pack.files.has('entropy.masked.backbone')) {
      // one backbone run (the per-stage cost) and one head run over a 32-position stage
      const masked = await MaskedEntropyModel.fromPack(pack, 'masked', runtime);
      const grid = new Int32Array(256).fill(UNKNOWN);
      const positions = Uint16Array.from({ length: 32 }, (_, i) => i * 8);
      const ms: number[] = [];
      const head: number[] = [];
      for (let r = 0; r < 7; r++) {
        const t0 = performance.now();
        const p = await masked.predictStage(grid, positions);
        const t1 = performance.now();
        await p.planeLogits(0, new Uint32Array(32 * 5));
        ms.push(t1 - t0);
        head.push(performance.now() - t1);
      }
      report({ name: 'entropy.backbone_forward_ms', value: +median(ms).toFixed(1), unit: 'ms', note: 'masked backbone, 256 cells, wasm 1 thread' });
      report({ name: 'entropy.head_forward_ms', value: +median(head).toFixed(2), unit: 'ms', note: 'digit head, 32 positions' });
    }
    if (pack.files.has('entropy.text.backbone')) {
      const text = await MaskedEntropyModel.fromPack(pack, 'text', runtime);
      const held = heldOutCaptions(pack);
      if (held && pack.files.has('entropy.masked.backbone')) {
        const masked = await MaskedEntropyModel.fromPack(pack, 'masked', runtime);
        const withText = await codeGrids(text, held.grids, 'cosine', 8, (i) => held.captions[i] as number[]);
        const without = await codeGrids(masked, held.grids, 'cosine', 8);
        bpt('text_conditional', withText, `${held.grids.length} held-out captioned images with their first caption`);
        bpt('masked_s8_captioned', without, 'the masked model on the same images');
        report({ name: 'entropy.text_saving_vs_masked', value: +(1 - withText.payloadBits / without.payloadBits).toFixed(4), unit: 'ratio', note: 'held-out captioned images' });
      }
      const r = await codeGrids(text, grids, 'cosine', 8);
      bpt('text_nocaption_s8', r, 'text-conditional model without a caption (Kodak has none)');
      const caption = Array.from(bpeEncode('a photo'));
      const rc = await codeGrids(text, grids.slice(0, 8), 'cosine', 8, () => caption);
      bpt('text_generic_caption_s8', rc, 'with the caption "a photo", first 8 grids');
    }
    if (pack.files.has('entropy.autoregressive.backbone')) {
      const ar = await AutoregressiveModel.fromPack(pack, runtime);
      let bytes = 0;
      let ideal = 0;
      const ms: number[] = [];
      for (const g of grids) {
        const t0 = performance.now();
        const c = await ar.encodeGrid(g);
        ms.push(performance.now() - t0);
        bytes += c.bytes.length;
        ideal += c.idealBits;
      }
      report({ name: 'bits_per_token.ar', value: +((bytes * 8) / (grids.length * 256)).toFixed(4), unit: 'bits', note: 'autoregressive, raster order, one stream per grid (no chunking)' });
      report({ name: 'bits_per_token.ar.ideal', value: +(ideal / (grids.length * 256)).toFixed(4), unit: 'bits', note: '−Σ log2 p' });
      report({ name: 'entropy.ar.grid_encode_ms', value: +median(ms).toFixed(0), unit: 'ms', note: 'one backbone run + 256 head runs' });
    }
    // the tokenizer itself on Kodak, when the images are on this machine (evaluation data, not committed)
    const kodakDir = process.env.UNIMIC_KODAK ?? path.join(root, '../shared/data/kodak');
    if (existsSync(path.join(kodakDir, 'kodim01.png'))) {
      const { ImageTokenizer, downscaleAndCrop, psnr } = await import('@unimic/models');
      const { nativeRuntime, readPng } = await import('@unimic/models/node');
      const tok = await ImageTokenizer.create(await loadPack(folderReader(packDir), ['tokenizer.encoder', 'tokenizer.decoder']), nativeRuntime());
      let sum = 0;
      for (let i = 1; i <= 24; i++) {
        const img = downscaleAndCrop(await readPng(path.join(kodakDir, `kodim${String(i).padStart(2, '0')}.png`)), 4, 128);
        sum += psnr(img, await tok.decode(await tok.encode(img)));
      }
      report({ name: 'tokenizer.kodak_psnr_db', value: +(sum / 24).toFixed(2), unit: 'dB', note: '24 Kodak images, box ÷4, centre 128x128, mean PSNR (onnxruntime-node)' });
    }
    // building the five digit tables of one token (the factorized models' table cost)
    const builders = [8, 8, 8, 4, 4].map((n) => new TableBuilder(n));
    const logits = [8, 8, 8, 4, 4].map((n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3));
    const reps = 200_000;
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) for (let k = 0; k < 5; k++) (builders[k] as TableBuilder).fromLogits(logits[k] as Float32Array);
    report({ name: 'tables.build_us_per_token_factorized', value: +(((performance.now() - t0) * 1000) / reps).toFixed(3), unit: 'µs', note: 'five digit tables (8,8,8,4,4) instead of one 8192-way table' });
  },
};
