import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { EXP2_Q24, LOGIT_SCALE, TableBuilder, simdTablesAvailable, tableFromLogits, validateTable, type TableKernel } from '../src/coding/index.ts';
import { ErrorCode, ProtocolError } from '../src/errors.ts';
import { uniform01 } from './helpers.ts';

// The optimized builder against a plain transcription of the procedure documented in
// frequency-table.ts ("Logits → table"): steps 1-3 in the obvious loops, step 4 in BigInt so that
// this copy needs none of the builder's float-exactness arguments. Both kernels are checked on
// the same rows, each forced (`kernel: 'js'` and `kernel: 'simd'`, the WebAssembly SIMD one, for
// every alphabet size), and so is the default builder that picks between them.

type Reference = { cdf: Uint32Array } | { badLogit: number; isNaN: boolean };

/** K: the binary64 nearest to 256 / ln 2 (the exported LOGIT_SCALE must be this number). */
const K = 369.3299304675746;

function referenceTable(logits: ArrayLike<number>, precision: number): Reference {
  const n = logits.length;
  const limit = 2 ** 29;
  // 1. q_i = floor(x_i·K + 0.5) in binary64; x·K ≤ −2^29 becomes −2^29; NaN or x·K ≥ 2^29 is an
  //    error, reported for the first such logit.
  const q: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = (logits[i] as number) * K;
    if (Number.isNaN(y)) return { badLogit: i, isNaN: true };
    if (y >= limit) return { badLogit: i, isNaN: false };
    q.push(y <= -limit ? -limit : Math.floor(y + 0.5));
  }
  // 2. d_i = max(q) − q_i.
  let qMax = -Infinity;
  for (const v of q) if (v > qMax) qMax = v;
  // 3. w_i = EXP2_Q24[d mod 256] >> floor(d / 256), 0 once d ≥ 6400.
  const w = q.map((v) => {
    const d = qMax - v;
    return d >= 6400 ? 0n : BigInt(EXP2_Q24[d % 256] as number) >> BigInt(Math.floor(d / 256));
  });
  // 4. cdf_i = i + floor(C_i·s / 2^29), s = floor(budget·2^29 / W), cdf_n = 2^P.
  const W = w.reduce((a, b) => a + b, 0n);
  const budget = BigInt(2 ** precision - n);
  const s = (budget << 29n) / W;
  const cdf = new Uint32Array(n + 1);
  let C = 0n;
  for (let i = 0; i < n; i++) {
    cdf[i] = i + Number((C * s) >> 29n);
    C += w[i] as bigint;
  }
  cdf[n] = 2 ** precision;
  return { cdf };
}

// ---------------------------------------------------------------------------------------------
// Logit rows from a small recipe (fast-check draws the recipe, a seeded generator the values), so
// 8192-long rows stay cheap and every failure prints a recipe that rebuilds its row.

const SHAPES = [
  'gaussian', // scale from 0.001 to 300 nats: from nearly flat to a few symbols holding all mass
  'peaked', // a few logits far above a noisy floor
  'flat', // one constant, optionally with a tiny jitter
  'masked', // −∞ at random positions or in runs
  'allMasked', // every logit −∞: max(q) = −2^29
  'nearFloor', // all logits near the −2^29 clamp, so clamped logits keep a weight
  'belowFloor', // every logit at or below the clamp: all q = −2^29, a uniform table
  'huge', // magnitudes up to the ±2^29 / K limit
  'tiny', // subnormal and near-zero logits around a few ordinary ones
  'ties', // x·K within 2 ulps of k + 0.5: the rounding boundary of step 1
] as const;
type Shape = (typeof SHAPES)[number];

interface Recipe {
  n: number;
  precision: number;
  shape: Shape;
  scale: number;
  seed: number;
  storage: 'f32' | 'f64' | 'array';
  /** Logits to spoil afterwards: NaN, +∞ or just past the limit, at positions from the seed. */
  poison: ReadonlyArray<'nan' | 'inf' | 'over'>;
}

const LIMIT_X = 2 ** 29 / K; // ≈ 1.45e6 nats

/** x moved k ulps away from zero (toward zero for k < 0); x finite and non-zero. */
function ulpsAway(x: number, k: number): number {
  const bits = new BigInt64Array(Float64Array.of(x).buffer);
  bits[0] = (bits[0] as bigint) + BigInt(k);
  return new Float64Array(bits.buffer)[0] as number;
}

/** The same in float32 steps, from the float32 nearest x (the SIMD kernels read float32 rows). */
function ulpsAway32(x: number, k: number): number {
  const bits = new Int32Array(Float32Array.of(x).buffer);
  bits[0] = (bits[0] as number) + k;
  return new Float32Array(bits.buffer)[0] as number;
}

function makeLogits(r: Recipe): ArrayLike<number> {
  const rand = uniform01(r.seed);
  const normal = () => Math.sqrt(-2 * Math.log(rand() + 1e-300)) * Math.cos(2 * Math.PI * rand());
  const x = new Array<number>(r.n);
  for (let i = 0; i < r.n; i++) {
    switch (r.shape) {
      case 'gaussian':
        x[i] = normal() * r.scale;
        break;
      case 'peaked':
        x[i] = normal();
        break;
      case 'flat':
        x[i] = r.scale + (rand() < 0.5 ? 0 : normal() * 1e-7);
        break;
      case 'masked':
        x[i] = normal() * 4;
        break;
      case 'allMasked':
        x[i] = -Infinity;
        break;
      case 'nearFloor':
        // −2^29 / K lies between float32 values; spread over ±30 units (and some at −∞).
        x[i] = rand() < 0.1 ? -Infinity : -LIMIT_X + (rand() - 0.5) * (60 / K);
        break;
      case 'belowFloor':
        x[i] = rand() < 0.1 ? -Infinity : -LIMIT_X * (1 + rand() * 10 ** -Math.floor(rand() * 8));
        break;
      case 'huge':
        x[i] = (rand() * 2 - 1) * LIMIT_X * (rand() < 0.5 ? 1 : 0.999999);
        break;
      case 'tiny':
        x[i] = rand() < 0.05 ? normal() * r.scale : (rand() - 0.5) * 10 ** -(1 + Math.floor(rand() * 320));
        break;
      case 'ties': {
        // Float32 rows step in float32 ulps (binary64 ulps would all round to the same float32).
        const k = Math.floor((rand() - 0.5) * 20000);
        const step = Math.round((rand() - 0.5) * 4);
        x[i] = r.storage === 'f32' ? ulpsAway32((k + 0.5) / K, step) : ulpsAway((k + 0.5) / K, step);
        break;
      }
    }
  }
  if (r.shape === 'peaked') {
    const peaks = 1 + Math.floor(rand() * 3);
    for (let p = 0; p < peaks; p++) x[Math.floor(rand() * r.n)] = r.scale * (1 + rand());
  }
  if (r.shape === 'masked') {
    const runs = rand() < 0.5;
    let masked = rand() < 0.5 ? Math.floor(rand() * r.n) : r.n - 1; // sometimes all but one
    for (let i = 0; i < r.n && masked > 0; i++) {
      const j = runs ? i : Math.floor(rand() * r.n);
      x[j] = -Infinity;
      masked--;
    }
  }
  for (const kind of r.poison) {
    const at = Math.floor(rand() * r.n);
    x[at] = kind === 'nan' ? NaN : kind === 'inf' ? Infinity : LIMIT_X * (1 + rand() * 1e-3);
  }
  if (r.storage === 'f32') return Float32Array.from(x);
  if (r.storage === 'f64') return Float64Array.from(x);
  return x;
}

const recipeArb: fc.Arbitrary<Recipe> = fc.record({
  // 63 and 64: either side of both fast paths' threshold; 65, 127, 257: the SIMD kernels' padding
  // (to multiples of 4 and 64); 16384: more than one page of wasm memory per array.
  n: fc.constantFrom(1, 2, 5, 8, 63, 64, 65, 127, 257, 8192, 16384),
  precision: fc.integer({ min: 16, max: 24 }),
  shape: fc.constantFrom(...SHAPES),
  scale: fc.constantFrom(0.001, 0.5, 1, 4, 16, 60, 300),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  // Only Float32Array rows reach the SIMD kernels; the others check that they fall back.
  storage: fc.oneof({ weight: 2, arbitrary: fc.constant('f32' as const) }, fc.constant('f64' as const), fc.constant('array' as const)),
  poison: fc.oneof(
    { weight: 4, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom('nan' as const, 'inf' as const, 'over' as const), { minLength: 1, maxLength: 2 }) },
  ),
});

const KERNELS: readonly TableKernel[] = ['js', 'simd'];

/** A binary64 row, or a float32 one (which the SIMD kernels read). */
function rowOf(f32: boolean, n: number, x: (i: number) => number): Float32Array | Float64Array {
  const row = f32 ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) row[i] = x(i);
  return row;
}

// One builder per (alphabet, precision, kernel), reused across runs: stale scratch must not leak
// (and the SIMD builders share one wasm memory, which grows as larger alphabets appear).
const builders = new Map<string, TableBuilder>();
function builderFor(n: number, precision: number, kernel: TableKernel | 'auto' = 'auto'): TableBuilder {
  const key = `${n}/${precision}/${kernel}`;
  let b = builders.get(key);
  if (!b) builders.set(key, (b = new TableBuilder(n, precision, { kernel })));
  expect(b.kernel).toBe(kernel === 'auto' ? (n >= 64 ? 'simd' : 'js') : kernel);
  return b;
}

function expectSameOutcome(build: () => { cdf: Uint32Array }, ref: Reference): void {
  if ('cdf' in ref) {
    const got = build().cdf;
    expect(got.length).toBe(ref.cdf.length);
    // One loop rather than toEqual on 8193 entries; a failure names the first differing entry.
    const at = got.findIndex((v, i) => v !== ref.cdf[i]);
    if (at >= 0) expect(got[at], `cdf[${at}]`).toBe(ref.cdf[at]);
    return;
  }
  let caught: unknown;
  try {
    build();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).code).toBe(ErrorCode.InvalidArgument);
  // The message names the first bad logit, as it always has.
  const want = ref.isNaN ? `: logit ${ref.badLogit} is NaN$` : `: logit ${ref.badLogit} \\(.*\\) is beyond`;
  expect((caught as Error).message).toMatch(new RegExp(want));
}

describe('table builder vs a plain reference of the documented procedure', () => {
  it('uses the documented constant', () => {
    expect(LOGIT_SCALE).toBe(K);
  });

  it('has the SIMD kernels here, so both kernels are really compared', () => {
    // Node ≥ 16 has WebAssembly SIMD: a fallback here would mean every 'simd' check ran JS.
    expect(simdTablesAvailable()).toBe(true);
    expect(new TableBuilder(8192).kernel).toBe('simd');
    expect(new TableBuilder(63).kernel).toBe('js');
    expect(new TableBuilder(1, 16, { kernel: 'simd' }).kernel).toBe('simd');
    expect(new TableBuilder(8192, 24, { kernel: 'js' }).kernel).toBe('js');
    expect(() => new TableBuilder(8, 24, { kernel: 'fast' as TableKernel })).toThrow(ProtocolError);
  });

  it('gives the reference table (or its error) on random rows of every shape', () => {
    const cdf8192 = new Uint32Array(8193);
    fc.assert(
      fc.property(recipeArb, (r) => {
        const logits = makeLogits(r);
        const ref = referenceTable(logits, r.precision);
        if ('cdf' in ref) validateTable({ precision: r.precision, cdf: ref.cdf });
        const builder = builderFor(r.n, r.precision);
        expectSameOutcome(() => builder.fromLogits(logits), ref);
        const into = r.n === 8192 ? cdf8192 : new Uint32Array(r.n + 1);
        expectSameOutcome(() => builder.fromLogitsInto(logits, into), ref);
        expectSameOutcome(() => tableFromLogits(logits, r.precision), ref);
        for (const kernel of KERNELS) {
          into.fill(0xdeadbeef); // a kernel must write every entry
          expectSameOutcome(() => builderFor(r.n, r.precision, kernel).fromLogitsInto(logits, into), ref);
        }
      }),
      { numRuns: 600 },
    );
  });

  it('agrees where one logit crosses a rounding boundary or the weight cut-off', () => {
    // Deterministic sweeps over the spots a fused or reordered kernel is most likely to get wrong:
    // d = 6144 is the last weight of 1 (2^24 >> 24), d ≥ 6400 must give 0, and d ≥ 8192 is where
    // a JS shift count (taken mod 32) would wrap.
    const n = 257;
    for (const kernel of KERNELS) {
      const builder = new TableBuilder(n, 20, { kernel });
      for (const f32 of [false, true]) {
        const base = rowOf(f32, n, (i) => Math.sin(i) * 3 - 5);
        base[0] = 0; // the maximum: q = 0
        const away = f32 ? ulpsAway32 : ulpsAway;
        for (const units of [0.5, 1, 6143.5, 6144, 6144.5, 6399.5, 6400, 6400.5, 8191.5, 8192, 8192.5]) {
          // x·K within a few ulps of −units: q = −units for whole units, a rounding tie for halves.
          for (let k = -2; k <= 2; k++) {
            const row = base.slice();
            row[1] = away(-units / K, k);
            expectSameOutcome(() => builder.fromLogits(row), referenceTable(row, 20));
          }
        }
        // Small half-integers of either sign, where float32 logits come closest to a tie (x·K
        // within ~10^-8 of it): a kernel that added anything but exactly 0.5 would differ here.
        for (let t = -41; t <= 40; t++) {
          const row = base.slice();
          for (let k = -3; k <= 3; k++) row[5 + k] = away((t + 0.5) / K, k);
          expectSameOutcome(() => builder.fromLogits(row), referenceTable(row, 20));
        }
      }
    }
  });

  it('agrees at the ±2^29 limits of step 1', () => {
    const n = 257;
    for (const kernel of KERNELS) {
      const builder = new TableBuilder(n, 24, { kernel });
      for (const f32 of [false, true]) {
        const away = f32 ? ulpsAway32 : ulpsAway;
        for (let k = -3; k <= 3; k++) {
          // The maximum just below, at or above x·K = 2^29 (refused from there on).
          const high = rowOf(f32, n, (i) => Math.cos(i) * 100);
          high[7] = away(LIMIT_X, k);
          expectSameOutcome(() => builder.fromLogits(high), referenceTable(high, 24));
          // Every logit near x·K = −2^29, the maximum included: clamped ones keep a weight.
          const low = rowOf(f32, n, (i) => away(-LIMIT_X, (i % 7) - 3 + k));
          expectSameOutcome(() => builder.fromLogits(low), referenceTable(low, 24));
        }
      }
    }
  });

  it('SIMD builders stay exact while the shared wasm memory grows under them', () => {
    // Every SIMD builder shares one memory; growing it (a larger alphabet) detaches the views the
    // smaller builders hold, which they must notice on their next row.
    const rand = uniform01(7);
    const row = (n: number) => Float32Array.from({ length: n }, () => (rand() < 0.2 ? -Infinity : (rand() - 0.5) * 30));
    const small = new TableBuilder(65, 24, { kernel: 'simd' });
    const check = (b: TableBuilder) => {
      const x = row(b.alphabet);
      expectSameOutcome(() => b.fromLogits(x), referenceTable(x, b.precision));
    };
    check(small);
    for (const n of [4096, 100_000, 1 << 20]) {
      const big = new TableBuilder(n, 24, { kernel: 'simd' }); // grows the memory
      check(small);
      // The big ones against the JS kernel, which the tests above hold to the (slow) reference.
      const x = row(n);
      const got = big.fromLogits(x).cdf;
      const want = new TableBuilder(n, 24, { kernel: 'js' }).fromLogits(x).cdf;
      expect(got.findIndex((v, i) => v !== want[i])).toBe(-1);
    }
    check(small);
  });
});

describe('table builder without WebAssembly SIMD', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.resetModules();
  });

  // A fresh copy of the module, so that its lazily compiled kernel sees the stubbed engine.
  const freshModule = async () => {
    vi.resetModules();
    return import('../src/coding/frequency-table.ts');
  };

  it('falls back to the JS kernels where WebAssembly rejects SIMD', async () => {
    const validate = vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    const { TableBuilder: Fresh, simdTablesAvailable: available } = await freshModule();
    expect(available()).toBe(false);
    expect(validate).toHaveBeenCalled();
    const builder = new Fresh(8192, 24);
    expect(builder.kernel).toBe('js');
    const x = makeLogits({ n: 8192, precision: 24, shape: 'masked', scale: 4, seed: 1, storage: 'f32', poison: [] });
    expectSameOutcome(() => builder.fromLogits(x), referenceTable(x, 24));
    expect(() => new Fresh(8192, 24, { kernel: 'simd' })).toThrow(/SIMD table kernel is not available/);
  });

  it('falls back per builder where the wasm memory cannot grow', async () => {
    const grow = vi.spyOn(WebAssembly.Memory.prototype, 'grow').mockImplementation(() => {
      throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    });
    const { TableBuilder: Fresh } = await freshModule();
    expect(new Fresh(64).kernel).toBe('simd'); // fits the first page
    const builder = new Fresh(8192);
    expect(grow).toHaveBeenCalled();
    expect(builder.kernel).toBe('js');
    const x = makeLogits({ n: 8192, precision: 24, shape: 'gaussian', scale: 4, seed: 2, storage: 'f32', poison: [] });
    expectSameOutcome(() => builder.fromLogits(x), referenceTable(x, 24));
  });
});
