import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TableBuilder, bpeEncode, buildSchedule, decodeChunk, type Schedule, type ScheduleKind } from '../packages/protocol/src/index.ts';
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
} from '../packages/models/src/index.ts';
import { folderReader } from '../packages/models/src/node.ts';
import { wasmRuntime } from '../packages/models/src/wasm.ts';
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
      bpt('masked.cosine8', rates.masked, 'masked model, cosine schedule, 8 stages (the protocol default)');
      report({ name: 'entropy.masked.stage_encode_ms', value: +median(rates.masked.encodeStageMs).toFixed(1), unit: 'ms', note: 'median per stage: backbone + head + coding, wasm 1 thread' });
      const c2f = await codeGrids(masked, grids, 'coarse-to-fine', 5);
      bpt('masked.c2f5', c2f, 'coarse-to-fine, 5 stages');
      for (const stages of [1, 2, 4, 16]) {
        const r = await codeGrids(masked, grids.slice(0, 8), 'cosine', stages);
        bpt(`masked.cosine${stages}`, r, 'first 8 Kodak grids');
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
    if (pack.files.has('entropy.text.backbone')) {
      const text = await MaskedEntropyModel.fromPack(pack, 'text', runtime);
      const r = await codeGrids(text, grids, 'cosine', 8);
      bpt('text.nocaption.cosine8', r, 'text-conditional model without a caption (Kodak has none)');
      const caption = Array.from(bpeEncode('a photo'));
      const rc = await codeGrids(text, grids.slice(0, 8), 'cosine', 8, () => caption);
      bpt('text.generic_caption.cosine8', rc, 'with the caption "a photo", first 8 grids');
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
    // building the five digit tables of one token (the factorized models' table cost)
    const builders = [8, 8, 8, 4, 4].map((n) => new TableBuilder(n));
    const logits = [8, 8, 8, 4, 4].map((n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3));
    const reps = 200_000;
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) for (let k = 0; k < 5; k++) (builders[k] as TableBuilder).fromLogits(logits[k] as Float32Array);
    report({ name: 'tables.build_us_per_token_factorized', value: +(((performance.now() - t0) * 1000) / reps).toFixed(3), unit: 'µs', note: 'five digit tables (8,8,8,4,4) instead of one 8192-way table' });
  },
};
