import {
  RangeDecoder,
  RangeEncoder,
  TableBuilder,
  type FrequencyTable,
} from '@unimic/protocol';
import { gaussian, median, rng, timeRuns, type Suite } from './harness.ts';

const ALPHABET = 8192;
const SYMBOLS = 1_000_000;
const TABLES = 64;

/** Skewed 8192-way tables: Gaussian logits with scales 1..8 (entropies from ~12.9 down to ~4 bits). */
function skewedTables(): FrequencyTable[] {
  const normal = gaussian(rng(42));
  const builder = new TableBuilder(ALPHABET);
  return Array.from({ length: TABLES }, (_, t) => {
    const logits = new Float32Array(ALPHABET);
    const scale = 1 + (t % 8);
    for (let i = 0; i < ALPHABET; i++) logits[i] = normal() * scale;
    return builder.fromLogits(logits);
  });
}

function sampleSymbols(tables: FrequencyTable[]): { symbols: Uint32Array; idealBits: number } {
  const rand = rng(7);
  const symbols = new Uint32Array(SYMBOLS);
  let idealBits = 0;
  for (let i = 0; i < SYMBOLS; i++) {
    const { cdf, precision } = tables[i % TABLES] as FrequencyTable;
    const u = Math.floor(rand() * 2 ** precision);
    let lo = 0;
    let hi = ALPHABET;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) <= u) lo = mid;
      else hi = mid;
    }
    symbols[i] = lo;
    idealBits -= Math.log2(((cdf[lo + 1] as number) - (cdf[lo] as number)) / 2 ** precision);
  }
  return { symbols, idealBits };
}

export const codingSuite: Suite = {
  name: 'coding',
  run(report) {
    const tables = skewedTables();
    const { symbols, idealBits } = sampleSymbols(tables);

    let bytes: Uint8Array = new Uint8Array(0);
    const encodeMs = timeRuns(5, () => {
      const enc = new RangeEncoder(SYMBOLS * 2);
      for (let i = 0; i < SYMBOLS; i++) enc.encode(symbols[i] as number, tables[i % TABLES] as FrequencyTable);
      bytes = enc.finish();
    });
    let mismatches = 0;
    const decodeMs = timeRuns(5, () => {
      const dec = new RangeDecoder(bytes);
      mismatches = 0;
      for (let i = 0; i < SYMBOLS; i++) if (dec.decode(tables[i % TABLES] as FrequencyTable) !== symbols[i]) mismatches++;
      dec.finish();
    });
    if (mismatches !== 0) throw new Error(`range coder round trip failed: ${mismatches} mismatches`);

    report({
      name: 'coder.overhead_ratio',
      value: (bytes.length * 8) / idealBits,
      unit: 'ratio',
      goal: { op: '<=', value: 1.0005 },
      note: `coded bits / Σ −log2 p over ${SYMBOLS / 1e6} M symbols, ${(idealBits / SYMBOLS).toFixed(2)} bits/symbol`,
    });
    report({ name: 'coder.encode_tokens_per_s', value: SYMBOLS / (Math.min(...encodeMs) / 1000), unit: 'tokens/s', note: 'best of 5' });
    report({
      name: 'coder.decode_tokens_per_s',
      value: SYMBOLS / (Math.min(...decodeMs) / 1000),
      unit: 'tokens/s',
      goal: { op: '>=', value: 5e6 },
      note: 'best of 5, prebuilt 8192-way tables',
    });

    // Table build: one fresh table per call, as an entropy model does per token. The default builder
    // (WebAssembly SIMD kernels where the engine has them) and the JS kernels, timed in alternating
    // batches in the same process, so that load on the machine hits both alike.
    const normal = gaussian(rng(3));
    const rows = Array.from({ length: 16 }, () => Float32Array.from({ length: ALPHABET }, () => normal() * 4));
    const builder = new TableBuilder(ALPHABET);
    const jsBuilder = new TableBuilder(ALPHABET, undefined, { kernel: 'js' });
    let sink = 0;
    const cdf = new Uint32Array(ALPHABET + 1);
    const cdfJs = new Uint32Array(ALPHABET + 1);
    for (let k = 0; k < 2000; k++) {
      sink += builder.fromLogits(rows[k & 15] as Float32Array).cdf[1] as number;
      sink += builder.fromLogitsInto(rows[k & 15] as Float32Array, cdf).cdf[1] as number;
      sink += jsBuilder.fromLogitsInto(rows[k & 15] as Float32Array, cdfJs).cdf[1] as number;
    }
    if (!cdf.every((v, i) => v === cdfJs[i])) throw new Error('SIMD and JS table kernels disagree');
    const perBatch: number[] = [];
    const perBatchInto: number[] = [];
    const perBatchJs: number[] = [];
    const batch = (out: number[], build: (row: Float32Array) => number) => {
      const t0 = performance.now();
      for (let k = 0; k < 500; k++) sink += build(rows[k & 15] as Float32Array);
      out.push(performance.now() - t0);
    };
    for (let r = 0; r < 15; r++) {
      const into = () => batch(perBatchInto, (row) => builder.fromLogitsInto(row, cdf).cdf[1] as number);
      const js = () => batch(perBatchJs, (row) => jsBuilder.fromLogitsInto(row, cdfJs).cdf[1] as number);
      if (r % 2 === 0) {
        into();
        js();
      } else {
        js();
        into();
      }
      batch(perBatch, (row) => builder.fromLogits(row).cdf[1] as number);
    }
    if (sink < 0) throw new Error('unreachable');
    const usInto = (median(perBatchInto) / 500) * 1000;
    const usJs = (median(perBatchJs) / 500) * 1000;
    report({
      name: 'tables.build_us_per_table',
      value: usInto,
      unit: 'µs',
      goal: { op: '<=', value: 20 },
      note: `median of 15×500, 8192 float32 logits → table in a reused buffer; default builder (${builder.kernel} kernels), ${(usJs / usInto).toFixed(2)}x the JS kernels' speed in the same run`,
    });
    report({
      name: 'tables.build_us_per_table.ts_path',
      value: usJs,
      unit: 'µs',
      note: "same rows and batches, alternating with the line above: TableBuilder({ kernel: 'js' }), the fallback where WebAssembly SIMD is unavailable",
    });
    report({
      name: 'tables.build_alloc_us_per_table',
      value: (median(perBatch) / 500) * 1000,
      unit: 'µs',
      note: 'same, each table in a fresh 32 KB buffer',
    });
  },
};
