// WebAssembly SIMD kernels for TableBuilder: steps 1-4 of the "Logits → table" procedure in
// frequency-table.ts for float32 rows, bit for bit the same table as the JS kernels, 2.5-3x as fast
// (see docs/coding.md). The module is assembled here from readable instruction lists (below; 916
// bytes, well under the 4 KB browsers compile synchronously on the main thread), validated with
// WebAssembly.validate and compiled synchronously; where any of that fails (no WebAssembly, no
// SIMD, a CSP that forbids compiling, a big-endian host) `SimdTableKernel.create` returns null and
// the builders keep their JS kernels. No I/O, no Node-only API: Node and browsers alike.
//
// Exactness argument, kernel by kernel (the property test in test/frequency-table-reference.test.ts
// checks it against a plain reference on random rows, and a probe checks it once per engine):
// - `max`: f32x4.pmax over the row, NaN if any lane is NaN (tracked apart). Step 1 is monotone, so
//   the builder derives max(q) from max(x) exactly as its JS path does, and sends NaN rows or rows
//   with x·K ≥ 2^29 to the JS path, which throws naming the first bad logit.
// - `weights`: each float32 is promoted to binary64 (exact), then y = x·K and y + 0.5 (f64x2.mul/add
//   are IEEE binary64, correctly rounded like JS's * and +). max(y + 0.5, −2^29) then floor gives
//   step 1's clamped q: y + 0.5 ≤ −2^29 (−∞ included) clamps to −2^29, and y + 0.5 ∈ (−2^29, …)
//   floors to ≥ −2^29, which is −2^29 exactly when y ≤ −2^29. d = qMax − q is an exact integer in
//   [0, 2^30] (qMax is the largest q); d + 2^52 is exact and holds d in its low 32 bits, which a
//   shuffle collects into int32 lanes. min_u(d, 6400) (unsigned: no lane can ever index outside the
//   table), and w = T[d] from a 6401-entry table T[d] = EXP2_Q24[d & 255] >>> (d >> 8), T[6400] = 0:
//   step 3. The sum is exact in i64 (≤ n·2^24 < 2^53).
// - `cumulate`: prefix sums in blocks of 64 in int32 lanes (≤ 64·2^24 = 2^30, no overflow), plus the
//   sum before the block as a binary64 `base`. C·k with k = s/2^29 is exact (C·s < 2^53, scaling by
//   a power of two), and so are run·k and base·k, whose sum is then C·k exactly; its floor (< 2^24)
//   is read from the low word of floor + 2^52 as above. cdf_i = i + floor(C_i·k), as in step 4.
// Rows of any length: the row is padded with −∞ up to a multiple of 4 for `max` and `weights`
// (−∞ changes neither max(x) nor anything before index n; the builder subtracts the padding's
// weights from the sum) and the weights with zeros up to a multiple of 64 for `cumulate`, whose
// entries past n are never read.

// ---------------------------------------------------------------------------------------------
// A minimal WebAssembly binary writer: just the instructions the three kernels use.

type Code = number[];

/** Unsigned LEB128. */
function uleb(v: number): Code {
  const out: Code = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 (i32 constants). */
function sleb(v: number): Code {
  const out: Code = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const littleEndianBytes = (write: (view: DataView) => void, size: number): Code => {
  const view = new DataView(new ArrayBuffer(size));
  write(view);
  return Array.from(new Uint8Array(view.buffer));
};

const vec = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
const section = (id: number, bytes: Code): Code => [id, ...uleb(bytes.length), ...bytes];
const name = (s: string): Code => vec(Array.from(s, (c) => [c.charCodeAt(0)]));

// Value types.
const I32 = 0x7f;
const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;

// Scalar instructions.
const get = (i: number): Code => [0x20, ...uleb(i)];
const set = (i: number): Code => [0x21, ...uleb(i)];
const tee = (i: number): Code => [0x22, ...uleb(i)];
const i32c = (v: number): Code => [0x41, ...sleb(v)];
const f32c = (x: number): Code => [0x43, ...littleEndianBytes((d) => d.setFloat32(0, x, true), 4)];
const f64c = (x: number): Code => [0x44, ...littleEndianBytes((d) => d.setFloat64(0, x, true), 8)];
/** i32.load / i32.store with alignment 4 and a constant offset. */
const i32Load = (offset: number): Code => [0x28, 2, ...uleb(offset)];
const i32Store = (offset: number): Code => [0x36, 2, ...uleb(offset)];
/** `block` + `loop` with no results: `br_if 1` leaves, `br 0` repeats. */
const LOOP: Code = [0x02, 0x40, 0x03, 0x40];
const END = 0x0b;
const END_LOOP: Code = [END, END];
const BR_REPEAT: Code = [0x0c, 0];
const BR_IF_EXIT: Code = [0x0d, 1];
const op = {
  select: 0x1b,
  i32_ge_u: 0x4f,
  f32_gt: 0x5e,
  i32_add: 0x6a,
  i32_shl: 0x74,
  i64_add: 0x7c,
  f64_add: 0xa0,
  f64_mul: 0xa2,
  i64_extend_i32_u: 0xad,
  f64_convert_i32_s: 0xb7,
  f64_convert_i32_u: 0xb8,
  f64_convert_i64_s: 0xb9,
  f64_promote_f32: 0xbb,
} as const;

// SIMD instructions (prefix 0xfd, then the opcode as LEB128, then immediates).
const simd = (opcode: number, ...immediates: number[]): Code => [0xfd, ...uleb(opcode), ...immediates];
const v128Load = (offset = 0): Code => simd(0x00, 4, ...uleb(offset));
const v128Store = (offset = 0): Code => simd(0x0b, 4, ...uleb(offset));
const v128Const = (i32Lanes: number[]): Code => simd(0x0c, ...littleEndianBytes((d) => i32Lanes.forEach((v, l) => d.setInt32(4 * l, v, true)), 16));
/** i8x16.shuffle: byte l of the result is byte lanes[l] of (a ++ b). */
const shuffle = (lanes: number[]): Code => simd(0x0d, ...lanes);
const v = {
  i32x4_splat: simd(0x11),
  f32x4_splat: simd(0x13),
  f64x2_splat: simd(0x14),
  i32x4_extract_lane: (l: number) => simd(0x1b, l),
  f32x4_extract_lane: (l: number) => simd(0x1f, l),
  f32x4_ne: simd(0x42),
  v128_or: simd(0x50),
  v128_any_true: simd(0x53),
  f64x2_promote_low_f32x4: simd(0x5f),
  f64x2_floor: simd(0x75),
  i32x4_shl: simd(0xab),
  i32x4_add: simd(0xae),
  i32x4_min_u: simd(0xb7),
  f32x4_pmax: simd(0xeb),
  f64x2_add: simd(0xf0),
  f64x2_sub: simd(0xf1),
  f64x2_mul: simd(0xf2),
  f64x2_pmax: simd(0xf7),
  f64x2_convert_low_i32x4_s: simd(0xfe),
};

/** Bytes 8-15 (the high two 32-bit lanes) moved down to bytes 0-7. */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** The low 32 bits of each binary64 lane of a, then of b: for f64x2 values 2^52 + m (0 ≤ m < 2^32), the m. */
const LOW_WORDS = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const TWO_52 = 2 ** 52;
const lanesFrom = (first: number) => Array.from({ length: 16 }, (_, b) => first + (b & 3));

/** Address 0: T[d] for d = 0..6400 (the weight of distance d; 0 for d = 6400). */
const WEIGHT_TABLE_ENTRIES = 6401;
/** Rows start after the table, 16-byte aligned. */
const ROW_BASE = Math.ceil((WEIGHT_TABLE_ENTRIES * 4) / 16) * 16;
const PAGE = 65536;

// ---------------------------------------------------------------------------------------------
// The kernels. Pointers are byte addresses; lengths are element counts.

/**
 * max(x: ptr, n: i32 multiple of 4) → f64: the largest of n float32 logits, or NaN if any is NaN.
 */
function maxKernel(): Code {
  const [x, n, end, best, row, nan, s, t] = [0, 1, 2, 3, 4, 5, 6, 7];
  const locals = [[1, I32], [3, V128], [2, F32]];
  // prettier-ignore
  const code = [
    ...get(x), ...get(n), ...i32c(2), op.i32_shl, op.i32_add, ...set(end),
    ...f32c(-Infinity), ...v.f32x4_splat, ...set(best),
    ...LOOP,
      ...get(x), ...get(end), op.i32_ge_u, ...BR_IF_EXIT,
      ...get(x), ...v128Load(), ...set(row),
      // nan |= (row != row): lanes holding NaN
      ...get(nan), ...get(row), ...get(row), ...v.f32x4_ne, ...v.v128_or, ...set(nan),
      // best = pmax(best, row) = best < row ? row : best
      ...get(best), ...get(row), ...v.f32x4_pmax, ...set(best),
      ...get(x), ...i32c(16), op.i32_add, ...set(x),
      ...BR_REPEAT,
    ...END_LOOP,
    // The largest of the four lanes.
    ...get(best), ...v.f32x4_extract_lane(0), ...set(s),
    ...[1, 2, 3].flatMap((l) => [...get(best), ...v.f32x4_extract_lane(l), ...set(t), ...get(t), ...get(s), ...get(t), ...get(s), op.f32_gt, op.select, ...set(s)]),
    // NaN if any lane ever was NaN, else the maximum as f64.
    ...f64c(NaN), ...get(s), op.f64_promote_f32, ...get(nan), ...v.v128_any_true, op.select,
    END,
  ];
  return body(locals, code);
}

/**
 * weights(x: ptr, w: ptr, n: i32 multiple of 4, qMax: i32) → f64: w_i = T[min(qMax − q_i, 6400)]
 * with q_i = floor(max(x_i·K + 0.5, −2^29)); returns Σ w_i.
 */
function weightsKernel(): Code {
  const [x, w, n, qMax, end, row, offsets, weight, total, scale, half, qMaxes, floor, cut, magic] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const locals = [[1, I32], [2, V128], [1, I32], [1, I64], [6, V128]];
  // Two float32 lanes (the low two of the v128 that `pair` pushes) → 2^52 + (qMax − q) as f64x2.
  // prettier-ignore
  const distances = (pair: Code) => [
    ...get(qMaxes),
    ...get(floor), ...pair, ...v.f64x2_promote_low_f32x4, ...get(scale), ...v.f64x2_mul, ...get(half), ...v.f64x2_add,
    ...v.f64x2_pmax, ...v.f64x2_floor, // q = floor(max(x·K + 0.5, −2^29)): pmax(a, b) = a < b ? b : a
    ...v.f64x2_sub, ...get(magic), ...v.f64x2_add,
  ];
  // Lane l: w[l] holds T's byte offset 4·d; replace it with the weight T[d] and push the weight.
  const lane = (l: number) => [...get(w), ...get(w), ...i32Load(4 * l), ...i32Load(0), ...tee(weight), ...i32Store(4 * l), ...get(weight)];
  // prettier-ignore
  const code = [
    ...get(x), ...get(n), ...i32c(2), op.i32_shl, op.i32_add, ...set(end),
    ...f64c(369.3299304675746), ...v.f64x2_splat, ...set(scale), // LOGIT_SCALE
    ...f64c(0.5), ...v.f64x2_splat, ...set(half),
    ...get(qMax), op.f64_convert_i32_s, ...v.f64x2_splat, ...set(qMaxes),
    ...f64c(-536870912), ...v.f64x2_splat, ...set(floor), // −2^29
    ...f64c(TWO_52), ...v.f64x2_splat, ...set(magic),
    ...i32c(6400), ...v.i32x4_splat, ...set(cut),
    ...LOOP,
      ...get(x), ...get(end), op.i32_ge_u, ...BR_IF_EXIT,
      ...get(x), ...v128Load(), ...set(row),
      // d for the low and the high pair of floats, as int32 lanes; min_u(d, 6400); byte offsets 4·d.
      ...distances(get(row)), ...distances([...get(row), ...get(row), ...shuffle(HIGH_HALF)]), ...shuffle(LOW_WORDS),
      ...get(cut), ...v.i32x4_min_u, ...i32c(2), ...v.i32x4_shl, ...set(offsets),
      // Parked in w (a store, then scalar loads: cheaper than extracting lanes), then looked up.
      ...get(w), ...get(offsets), ...v128Store(),
      ...lane(0), ...lane(1), op.i32_add, ...lane(2), op.i32_add, ...lane(3), op.i32_add,
      op.i64_extend_i32_u, ...get(total), op.i64_add, ...set(total),
      ...get(x), ...i32c(16), op.i32_add, ...set(x),
      ...get(w), ...i32c(16), op.i32_add, ...set(w),
      ...BR_REPEAT,
    ...END_LOOP,
    ...get(total), op.f64_convert_i64_s,
    END,
  ];
  return body(locals, code);
}

/**
 * cumulate(w: ptr, cdf: ptr, n: i32 multiple of 64, k: f64): cdf[i + 1] = i + 1 + floor(C_(i+1)·k)
 * for i < n, C_j = w_0 + … + w_(j−1). cdf[0] is not written.
 */
function cumulateKernel(): Code {
  const [w, cdf, n, k, end, blockEnd, run, sums, index, baseK, base, ks, magic] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const locals = [[2, I32], [4, V128], [1, F64], [2, V128]];
  // Two running sums (int32 lanes 0-1 of what `pair` pushes, exact within a block) → 2^52 + floor(C·k).
  const scaled = (pair: Code) => [...pair, ...v.f64x2_convert_low_i32x4_s, ...get(ks), ...v.f64x2_mul, ...get(baseK), ...v.f64x2_add, ...v.f64x2_floor, ...get(magic), ...v.f64x2_add];
  const zero = [...i32c(0), ...v.i32x4_splat];
  // prettier-ignore
  const code = [
    ...get(w), ...get(n), ...i32c(2), op.i32_shl, op.i32_add, ...set(end),
    ...get(k), ...v.f64x2_splat, ...set(ks),
    ...f64c(TWO_52), ...v.f64x2_splat, ...set(magic),
    ...v128Const([1, 2, 3, 4]), ...set(index), // i + 1 for the four lanes
    ...LOOP, // blocks of 64 weights
      ...get(w), ...get(end), op.i32_ge_u, ...BR_IF_EXIT,
      ...get(w), ...i32c(256), op.i32_add, ...set(blockEnd),
      ...get(base), ...get(k), op.f64_mul, ...v.f64x2_splat, ...set(baseK), // base·k, exact
      ...zero, ...set(run),
      ...LOOP, // 4 weights at a time
        ...get(w), ...get(blockEnd), op.i32_ge_u, ...BR_IF_EXIT,
        // Inclusive prefix sum of the four lanes: add the lanes shifted up by one, then by two.
        ...get(w), ...v128Load(), ...set(sums),
        ...get(sums), ...get(sums), ...zero, ...shuffle([16, 17, 18, 19, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), ...v.i32x4_add, ...set(sums),
        ...get(sums), ...get(sums), ...zero, ...shuffle([16, 17, 18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6, 7]), ...v.i32x4_add,
        ...get(run), ...v.i32x4_add, ...set(sums),
        // run = the last lane in every lane
        ...get(sums), ...get(sums), ...shuffle(lanesFrom(12)), ...set(run),
        ...get(cdf),
          ...scaled(get(sums)),
          ...scaled([...get(sums), ...get(sums), ...shuffle(HIGH_HALF)]),
          ...shuffle(LOW_WORDS), ...get(index), ...v.i32x4_add,
        ...v128Store(4), // cdf[i + 1 .. i + 4]
        ...get(index), ...i32c(4), ...v.i32x4_splat, ...v.i32x4_add, ...set(index),
        ...get(w), ...i32c(16), op.i32_add, ...set(w),
        ...get(cdf), ...i32c(16), op.i32_add, ...set(cdf),
        ...BR_REPEAT,
      ...END_LOOP,
      // base += the block's sum (run's lanes are all equal)
      ...get(base), ...get(run), ...v.i32x4_extract_lane(0), op.f64_convert_i32_u, op.f64_add, ...set(base),
      ...BR_REPEAT,
    ...END_LOOP,
    END,
  ];
  return body(locals, code);
}

function body(locals: number[][], code: Code): Code {
  const bytes = [...vec(locals.map(([count, type]) => [...uleb(count as number), type as number])), ...code];
  return [...uleb(bytes.length), ...bytes];
}

/** The module: one memory (exported, grown by the host) and the three kernels. */
export function simdTableKernelBytes(): Uint8Array<ArrayBuffer> {
  const funcType = (params: number[], results: number[]) => [0x60, ...vec(params.map((t) => [t])), ...vec(results.map((t) => [t]))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // "\0asm", version 1
    ...section(1, vec([funcType([I32, I32], [F64]), funcType([I32, I32, I32, I32], [F64]), funcType([I32, I32, I32, F64], [])])),
    ...section(3, vec([[0], [1], [2]])), // function i has type i
    ...section(5, vec([[0x00, ...uleb(1)]])), // memory: at least one page, no maximum
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('max'), 0x00, 0], [...name('weights'), 0x00, 1], [...name('cumulate'), 0x00, 2]])),
    ...section(10, vec([maxKernel(), weightsKernel(), cumulateKernel()])),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Host side.

interface Exports {
  readonly memory: WebAssembly.Memory;
  max(x: number, n: number): number;
  weights(x: number, w: number, n: number, qMax: number): number;
  cumulate(w: number, cdf: number, n: number, k: number): void;
}

/** One instance (and memory) shared by every builder: calls are synchronous, so never overlap. */
export class SimdTableKernel {
  private constructor(private readonly exports: Exports) {}

  /** Compiles and instantiates the module; null where WebAssembly SIMD is unavailable. */
  static create(exp2q24: Uint32Array): SimdTableKernel | null {
    try {
      // Typed arrays use the host's byte order, wasm memory is little-endian.
      if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) return null;
      if (typeof WebAssembly !== 'object') return null;
      const bytes = simdTableKernelBytes();
      if (!WebAssembly.validate(bytes)) return null;
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
      const exports = instance.exports as unknown as Exports;
      const table = new Int32Array(exports.memory.buffer, 0, WEIGHT_TABLE_ENTRIES);
      for (let d = 0; d < 6400; d++) table[d] = (exp2q24[d & 255] as number) >>> (d >> 8);
      table[6400] = 0;
      return new SimdTableKernel(exports);
    } catch {
      return null; // e.g. a Content-Security-Policy without 'wasm-unsafe-eval'
    }
  }

  /** Scratch for rows of n logits (null if the memory cannot grow that far). */
  rows(n: number): SimdRows | null {
    const n64 = Math.ceil(n / 64) * 64;
    const bytes = ROW_BASE + 4 * (n64 + n64 + n64 + 1);
    const memory = this.exports.memory;
    try {
      const missing = Math.ceil(bytes / PAGE) - memory.buffer.byteLength / PAGE;
      if (missing > 0) memory.grow(missing);
    } catch {
      return null;
    }
    return new SimdRows(this.exports, n);
  }
}

/**
 * One builder's view of the shared memory: [x: n64 floats][w: n64 weights][cdf: n64 + 1 entries]
 * after the weight table. The views are rebuilt whenever the memory has grown (which detaches them).
 */
export class SimdRows {
  private readonly n4: number;
  private readonly n64: number;
  private readonly x0: number;
  private readonly w0: number;
  private readonly c0: number;
  private buffer: ArrayBuffer | null = null;
  private x = new Float32Array(0);
  private w = new Int32Array(0);
  private c = new Uint32Array(0);

  constructor(
    private readonly exports: Exports,
    private readonly n: number,
  ) {
    this.n4 = Math.ceil(n / 4) * 4;
    this.n64 = Math.ceil(n / 64) * 64;
    this.x0 = ROW_BASE;
    this.w0 = this.x0 + 4 * this.n64;
    this.c0 = this.w0 + 4 * this.n64;
  }

  /** Copies the row in (padded with −∞); returns max(x), or NaN if some logit is NaN. */
  load(logits: Float32Array): number {
    const buffer = this.exports.memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.x = new Float32Array(buffer, this.x0, this.n4);
      this.w = new Int32Array(buffer, this.w0, this.n64);
      this.c = new Uint32Array(buffer, this.c0, this.n + 1);
    }
    this.x.set(logits);
    if (this.n4 > this.n) this.x.fill(-Infinity, this.n);
    return this.exports.max(this.x0, this.n4);
  }

  /** Steps 1-3 on the loaded row: weights into scratch; returns W = Σ w_i over the n logits. */
  weights(qMax: number): number {
    const { n, n4, w } = this;
    let total = this.exports.weights(this.x0, this.w0, n4, qMax);
    for (let i = n; i < n4; i++) total -= w[i] as number; // the −∞ padding's weights
    if (this.n64 > n) w.fill(0, n, this.n64);
    return total;
  }

  /** Step 4 with k = s / 2^29 into `cdf` (n + 1 entries); the caller sets cdf[0] and cdf[n]. */
  cumulate(k: number, cdf: Uint32Array): void {
    this.exports.cumulate(this.w0, this.c0, this.n64, k);
    cdf.set(this.c);
  }
}
