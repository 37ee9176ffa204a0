import { ErrorCode, ProtocolError } from '../errors.ts';
import { SimdTableKernel, type SimdRows } from './simd-table-kernel.ts';

/**
 * An integer probability model for one symbol: the range coder's only input.
 *
 * Invariants (checked by `validateTable`, guaranteed by every builder in this package):
 * - `cdf.length = n + 1` for an alphabet of n ≥ 1 symbols;
 * - `cdf[0] = 0`, `cdf[n] = 2^precision`;
 * - strictly increasing: every symbol has frequency `cdf[s+1] - cdf[s] ≥ 1`, so any symbol can
 *   be coded and the decoder can never land on an empty interval.
 */
export interface FrequencyTable {
  /** P: frequencies sum to exactly 2^P. 1 ≤ P ≤ MAX_PRECISION. */
  readonly precision: number;
  /** Cumulative frequencies, n + 1 entries. */
  readonly cdf: Uint32Array;
}

/** The coder keeps ≥ 2^40 of range and divides it by 2^P: P ≤ 24 leaves ≥ 16 bits of resolution. */
export const MAX_PRECISION = 24;
/** 24 bits: with 8192 symbols a floor of 1 per symbol reserves only 0.05% of the range. */
export const DEFAULT_PRECISION = 24;

export function alphabetSize(table: FrequencyTable): number {
  return table.cdf.length - 1;
}

export function frequencyOf(table: FrequencyTable, symbol: number): number {
  const { cdf } = table;
  return (cdf[symbol + 1] ?? 0) - (cdf[symbol] ?? 0);
}

function checkPrecision(precision: number, alphabet: number): void {
  if (!Number.isInteger(precision) || precision < 1 || precision > MAX_PRECISION) {
    throw new ProtocolError(ErrorCode.InvalidArgument, `precision must be an integer in 1..${MAX_PRECISION}, got ${precision}`);
  }
  if (!Number.isInteger(alphabet) || alphabet < 1) {
    throw new ProtocolError(ErrorCode.InvalidArgument, `alphabet size must be a positive integer, got ${alphabet}`);
  }
  // Every symbol needs frequency ≥ 1.
  if (alphabet > 2 ** precision) {
    throw new ProtocolError(ErrorCode.InvalidArgument, `${alphabet} symbols do not fit a total of 2^${precision}`);
  }
}

/** Throws ERR_INVALID_ARGUMENT unless `table` satisfies the FrequencyTable invariants. */
export function validateTable(table: FrequencyTable): void {
  const { cdf, precision } = table;
  checkPrecision(precision, cdf.length - 1);
  if (cdf[0] !== 0 || cdf[cdf.length - 1] !== 2 ** precision) {
    throw new ProtocolError(ErrorCode.InvalidArgument, `cdf must run from 0 to 2^${precision}`);
  }
  for (let s = 1; s < cdf.length; s++) {
    if ((cdf[s] ?? 0) <= (cdf[s - 1] ?? 0)) {
      throw new ProtocolError(ErrorCode.InvalidArgument, `symbol ${s - 1} has frequency ≤ 0`);
    }
  }
}

/** Every symbol equally likely; the 2^P mod n leftover units go to the lowest symbols. */
export function uniformTable(alphabet: number, precision: number = DEFAULT_PRECISION): FrequencyTable {
  checkPrecision(precision, alphabet);
  const total = 2 ** precision;
  const base = Math.floor(total / alphabet);
  const extra = total - base * alphabet;
  const cdf = new Uint32Array(alphabet + 1);
  let acc = 0;
  for (let s = 0; s < alphabet; s++) {
    acc += base + (s < extra ? 1 : 0);
    cdf[s + 1] = acc;
  }
  return { precision, cdf };
}

// ---------------------------------------------------------------------------------------------
// Logits → table: a documented quantization, then integers only.
//
//   1. Integer logits in 1/256 bit: q_i = floor(x_i · K + 0.5) with K = 256 / ln 2 (the binary64
//      constant LOGIT_SCALE), evaluated in IEEE binary64, whose · and + are correctly rounded on
//      every platform: same x, same q. Values with x_i · K ≤ −2^29 (−Infinity included) become
//      −2^29; NaN anywhere, or x_i · K ≥ 2^29, is an error (a model emitting those is broken, and
//      coding with it would desync the peers). `quantizeLogits` exposes exactly these q.
//   2. d_i = max(q) − q_i ≥ 0: "how many 1/256 bits below the most likely symbol".
//   3. w_i = EXP2_Q24[d_i mod 256] >> floor(d_i / 256), i.e. 2^24 · 2^(−d_i/256); 0 once
//      d_i ≥ 6400 (25 bits down). The table is baked in because Math.pow/exp differ across engines.
//   4. With C_i = w_0 + … + w_(i−1), W = C_n, budget = 2^P − n and s = floor(budget·2^29 / W):
//      cdf_i = i + floor(C_i·s / 2^29) for i < n, and cdf_n = 2^P. Flooring the cumulative
//      (not each term) loses at most W/2^29 + 1 ≤ n/32 + 1 units (W ≤ n·2^24), which the last
//      symbol absorbs: 257 units for 8192 symbols, 1.5·10^-5 of the mass at P = 24 (more, relatively,
//      at lower P); every symbol keeps frequency ≥ 1. All products stay below 2^53.
//
// The builder reads the float row twice: once for max(x), which gives max(q) because step 1 is
// monotone, then once for steps 1-3 together; step 4 runs on the warm integer scratch. Float32
// rows of ≥ 64 logits do the same three passes in WebAssembly SIMD where the engine has it
// (simd-table-kernel.ts, which argues its exactness): same table, 2.5-3x as fast. Short rows
// and rows with a NaN or too large logit go step by step instead (`quantizeInto`, which throws for
// the bad ones, then `integerWeights`): same q, same table. A 1/256-bit step moves a probability
// by < 0.3%: a KL cost far below 10^-4 bit per symbol.
// ---------------------------------------------------------------------------------------------

/** Logits (nats) → fixed point in 1/256 bit: the binary64 nearest to 256 / ln 2. */
export const LOGIT_SCALE = 369.3299304675746;
/** Integer logits live in (−2^29, 2^29); lower values are clamped, higher ones refused. */
export const QUANTIZED_LOGIT_LIMIT = 2 ** 29;

/** round(2^24 · 2^(-j/256)) for j = 0..255, generated once and pinned by a golden test. */
// prettier-ignore
export const EXP2_Q24 = Uint32Array.of(
  16777216, 16731851, 16686609, 16641490, 16596492, 16551616, 16506861, 16462228, 16417715, 16373322,
  16329050, 16284897, 16240863, 16196949, 16153153, 16109476, 16065917, 16022476, 15979152, 15935945,
  15892855, 15849882, 15807025, 15764283, 15721658, 15679147, 15636752, 15594471, 15552304, 15510252,
  15468313, 15426487, 15384775, 15343175, 15301688, 15260313, 15219050, 15177899, 15136859, 15095929,
  15055111, 15014403, 14973805, 14933316, 14892937, 14852668, 14812507, 14772455, 14732511, 14692675,
  14652947, 14613326, 14573813, 14534406, 14495106, 14455912, 14416824, 14377841, 14338964, 14300193,
  14261526, 14222963, 14184505, 14146151, 14107901, 14069754, 14031710, 13993769, 13955931, 13918195,
  13880561, 13843028, 13805598, 13768268, 13731039, 13693911, 13656884, 13619956, 13583129, 13546401,
  13509772, 13473242, 13436812, 13400479, 13364245, 13328109, 13292070, 13256129, 13220286, 13184539,
  13148888, 13113335, 13077877, 13042515, 13007249, 12972078, 12937002, 12902021, 12867135, 12832343,
  12797645, 12763041, 12728530, 12694113, 12659789, 12625557, 12591419, 12557372, 12523418, 12489555,
  12455784, 12422104, 12388516, 12355018, 12321610, 12288294, 12255067, 12221930, 12188882, 12155924,
  12123055, 12090275, 12057584, 12024981, 11992466, 11960039, 11927700, 11895448, 11863283, 11831206,
  11799215, 11767310, 11735492, 11703760, 11672114, 11640553, 11609078, 11577687, 11546382, 11515161,
  11484025, 11452973, 11422004, 11391120, 11360319, 11329601, 11298967, 11268415, 11237946, 11207559,
  11177254, 11147032, 11116891, 11086831, 11056853, 11026956, 10997140, 10967404, 10937749, 10908174,
  10878679, 10849263, 10819928, 10790671, 10761494, 10732395, 10703375, 10674434, 10645571, 10616786,
  10588079, 10559449, 10530897, 10502422, 10474024, 10445703, 10417458, 10389290, 10361198, 10333182,
  10305242, 10277377, 10249587, 10221873, 10194234, 10166669, 10139179, 10111763, 10084422, 10057154,
  10029960, 10002839, 9975792, 9948818, 9921917, 9895089, 9868333, 9841650, 9815039, 9788499,
  9762032, 9735636, 9709311, 9683058, 9656875, 9630764, 9604722, 9578752, 9552851, 9527021,
  9501261, 9475570, 9449948, 9424396, 9398913, 9373499, 9348154, 9322877, 9297668, 9272528,
  9247455, 9222451, 9197514, 9172644, 9147842, 9123107, 9098438, 9073837, 9049301, 9024833,
  9000430, 8976093, 8951823, 8927617, 8903477, 8879403, 8855394, 8831449, 8807569, 8783754,
  8760003, 8736317, 8712694, 8689136, 8665641, 8642209, 8618841, 8595536, 8572295, 8549116,
  8525999, 8502945, 8479954, 8457025, 8434157, 8411352,
);

function invalidLogits(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.InvalidArgument, message);
}

/**
 * Step 1 into `q`; returns max(q). Only parameters and literals inside the loop: V8 keeps
 * deoptimizing hot loops that read module bindings (measured 3x slower), so LOGIT_SCALE and the
 * limits appear here as numbers.
 */
function quantizeInto(logits: ArrayLike<number>, q: Int32Array, n: number): number {
  let qMax = -536870912;
  for (let i = 0; i < n; i++) {
    const y = (logits[i] as number) * 369.3299304675746;
    let v: number;
    // The usual case is one predictable compare pair. y + 0.5 may round (y = 0.5 − 2^-54 gives 1),
    // but as the procedure's binary64 sum, the same on every platform.
    if (y > -536870912 && y < 536870912) v = Math.floor(y + 0.5);
    else if (y <= -536870912) v = -536870912;
    else throw invalidLogits(y !== y ? `logit ${i} is NaN` : `logit ${i} (${logits[i]}) is beyond ±2^29 / LOGIT_SCALE`);
    q[i] = v;
    if (v > qMax) qMax = v;
  }
  return qMax;
}

/** The integer logits of step 1, for peers that store or ship them instead of floats. */
export function quantizeLogits(logits: ArrayLike<number>, out: Int32Array = new Int32Array(logits.length)): Int32Array {
  if (out.length < logits.length) throw invalidLogits(`output holds ${out.length} values, need ${logits.length}`);
  quantizeInto(logits, out, logits.length);
  return out;
}

/** floor(a / b) for non-negative integers a, b < 2^53 with a / b < 2^53, exact. */
function floorDiv(a: number, b: number): number {
  // The float quotient is correctly rounded but may round up across an integer; repair by one.
  // Written without branches so optimized code never meets an untaken path (a V8 deopt loop).
  let q = Math.floor(a / b);
  q -= q * b > a ? 1 : 0;
  q += (q + 1) * b <= a ? 1 : 0;
  return q;
}

/** Step 4's k = s / 2^29, s = floor(budget·2^29 / W): C_i·k is then exact and < 2^24. */
function cdfScale(n: number, total: number, totalUnits: number): number {
  return floorDiv((totalUnits - n) * 536870912, total) / 536870912; // 2^29
}

/** max(q) from max(x) (step 1 is monotone); NaN for NaN or for x·K ≥ 2^29 (the caller's error path). */
function quantizedMax(xMax: number): number {
  const y = xMax * LOGIT_SCALE;
  if (!(y < QUANTIZED_LOGIT_LIMIT)) return NaN;
  return y > -QUANTIZED_LOGIT_LIMIT ? Math.floor(y + 0.5) : -QUANTIZED_LOGIT_LIMIT;
}

/**
 * Steps 1-4 with the WebAssembly SIMD kernels; false (nothing written) for a row with a NaN or too
 * large logit, which the JS path then reports.
 */
function simdTable(rows: SimdRows, logits: Float32Array, totalUnits: number, cdf: Uint32Array): boolean {
  const qMax = quantizedMax(rows.load(logits));
  if (qMax !== qMax) return false;
  const n = logits.length;
  rows.cumulate(cdfScale(n, rows.weights(qMax), totalUnits), cdf);
  cdf[0] = 0;
  cdf[n] = totalUnits; // as in cumulativeTable: the last symbol absorbs the rest
  return true;
}

/** Which kernels a TableBuilder runs: WebAssembly SIMD, or plain JS. Both give the same tables. */
export type TableKernel = 'simd' | 'js';

export interface TableBuilderOptions {
  /**
   * 'auto' (default): 'simd' for alphabets of ≥ 64 where the engine has WebAssembly SIMD, else
   * 'js'. 'simd' insists (throws ERR_INVALID_ARGUMENT where unavailable; any alphabet size); 'js'
   * never touches WebAssembly. The SIMD kernels take Float32Array rows; other rows, and rows with a
   * NaN or too large logit, always go through the JS kernels.
   */
  readonly kernel?: 'auto' | TableKernel;
}

/** Below this, 'auto' keeps the JS kernels: fixed costs (copies, calls) outweigh the gain. */
const SIMD_MIN_ALPHABET = 64;

let sharedSimd: SimdTableKernel | null | undefined;

/** The SIMD kernels, compiled on first use; null where unavailable or where they fail a self-check. */
function simdKernel(): SimdTableKernel | null {
  if (sharedSimd === undefined) {
    sharedSimd = SimdTableKernel.create(EXP2_Q24);
    if (sharedSimd !== null && !simdAgreesWithJs(sharedSimd)) sharedSimd = null;
  }
  return sharedSimd;
}

/**
 * A known-answer check before first use, against an engine that would lower some SIMD instruction
 * wrongly: two probe rows (every weight shift, ties, −∞, the −2^29 clamp, a length that needs
 * padding) through both kernels, and a NaN that must be noticed. Once per process (a few ms cold).
 */
function simdAgreesWithJs(kernel: SimdTableKernel): boolean {
  const n = 131;
  const rows = kernel.rows(n);
  if (rows === null) return false;
  const probes = [
    Float32Array.from({ length: n }, (_, i) => (i % 11 === 5 ? -Infinity : (i % 2 === 0 ? -61 * i + 0.5 : 7 - i) / 369.3299304675746)),
    Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -Infinity : -1453634.5 - (i % 8) * 0.125)),
  ];
  const js = new TableBuilder(n, 24, { kernel: 'js' });
  const got = new Uint32Array(n + 1);
  const withNaN = (probes[0] as Float32Array).slice();
  withNaN[77] = NaN;
  if (!Number.isNaN(rows.load(withNaN))) return false; // the JS path must get to name the NaN
  return probes.every((row) => {
    const want = js.fromLogits(row).cdf;
    return simdTable(rows, row, 2 ** 24, got) && got.every((v, i) => v === want[i]);
  });
}

/** Whether TableBuilder's 'auto' kernel is WebAssembly SIMD on this engine (for reports). */
export function simdTablesAvailable(): boolean {
  return simdKernel() !== null;
}

// Speed notes for the kernels below (measured with 8192 fresh float32 rows, Node 20):
// - V8 checks an array's map and reloads its data pointer on every access, and does not hoist
//   either out of a loop; a body that touches x[i..i+3] does them once. So the long loops take 4
//   elements per iteration, each through one small helper that V8 inlines (a fifth of the time).
// - Only parameters and literals inside the loops: V8 keeps deoptimizing hot loops that read
//   module constants (measured 3x slower), so LOGIT_SCALE and the limits appear as numbers.

/**
 * The fast path's precondition and step 1's maximum in one read: returns max(x) when x·K < 2^29
 * for every x and no x is NaN, else NaN (the caller then takes quantizeInto's exact error). One
 * predictable test per 4 logits; a miss (a new maximum, a NaN, the tail) steps one logit at a time.
 */
function maxLogit(logits: ArrayLike<number>, n: number): number {
  let max = -Infinity;
  let i = 0;
  while (i < n) {
    if (i + 4 <= n) {
      const a = logits[i] as number;
      const b = logits[i + 1] as number;
      const c = logits[i + 2] as number;
      const d = logits[i + 3] as number;
      if (a <= max && b <= max && c <= max && d <= max) {
        i += 4;
        continue;
      }
    }
    const v = logits[i] as number;
    if (v !== v) return NaN;
    if (v > max) max = v;
    i++;
  }
  return max * 369.3299304675746 < 536870912 ? max : NaN;
}

/**
 * Step 3 for one distance d ≥ 0: EXP2_Q24[d mod 256] >> floor(d / 256), or 0 once d ≥ 6400.
 * A JS shift count is taken mod 32, so the mask (all ones iff d < 6400, where the count is ≤ 24)
 * does the cut-off instead of a clamp or a branch (a branch mispredicts on real logits).
 */
function distanceWeight(d: number, exp: Uint32Array): number {
  return ((exp[d & 255] as number) >> (d >> 8)) & ((d - 6400) >> 31);
}

/**
 * Steps 1-3 for one logit of a row that passed `maxLogit` (so y < 2^29 and not NaN): the same
 * q as quantizeInto, then its weight. The low clamp is a branch, but one that real rows (finite
 * logits, or −∞ masks in runs) predict.
 */
function logitWeight(x: number, qMax: number, exp: Uint32Array): number {
  const y = x * 369.3299304675746;
  const q = y > -536870912 ? Math.floor(y + 0.5) | 0 : -536870912;
  return distanceWeight((qMax - q) | 0, exp);
}

/** Steps 1-3 fused: weights of a row that passed `maxLogit` into `w`; returns their sum. */
function logitWeights(logits: ArrayLike<number>, w: Int32Array, n: number, qMax: number, exp: Uint32Array): number {
  let total = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = logitWeight(logits[i] as number, qMax, exp);
    const b = logitWeight(logits[i + 1] as number, qMax, exp);
    const c = logitWeight(logits[i + 2] as number, qMax, exp);
    const d = logitWeight(logits[i + 3] as number, qMax, exp);
    w[i] = a;
    w[i + 1] = b;
    w[i + 2] = c;
    w[i + 3] = d;
    total += a + b + c + d;
  }
  for (; i < n; i++) {
    const a = logitWeight(logits[i] as number, qMax, exp);
    w[i] = a;
    total += a;
  }
  return total;
}

/**
 * Steps 2-3: integer weights into `w` (which may be `q` itself), returning their sum (≥ 2^24: the
 * maximum's).
 */
function integerWeights(q: Int32Array, w: Int32Array, n: number, qMax: number, exp: Uint32Array): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = qMax - (q[i] as number);
    // min(d, 6400) without a branch (V8 compiles `?:` to a jump, which mispredicts on real
    // logits: 4x slower measured); d = 6400 shifts the weight to 0.
    const e = d - 6400;
    const c = 6400 + (e & (e >> 31));
    const wi = (exp[c & 255] as number) >>> (c >> 8);
    w[i] = wi;
    total += wi;
  }
  return total;
}

/**
 * Step 4: cdf_i = i + floor(C_i·s / 2^29), cdf_n = 2^P. C_i·s < 2^53 and s/2^29 is a
 * power-of-two scaling, so C_i·k is exact, and `| 0` floors it (it is < 2^24).
 */
function cumulativeTable(w: Int32Array, n: number, total: number, totalUnits: number, cdf: Uint32Array): void {
  const k = cdfScale(n, total, totalUnits);
  let acc = 0; // C_i: a sum of integers below 2^53, so exact in any order
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const c1 = acc + (w[i] as number);
    const c2 = c1 + (w[i + 1] as number);
    const c3 = c2 + (w[i + 2] as number);
    const c4 = c3 + (w[i + 3] as number);
    cdf[i + 1] = i + 1 + ((c1 * k) | 0);
    cdf[i + 2] = i + 2 + ((c2 * k) | 0);
    cdf[i + 3] = i + 3 + ((c3 * k) | 0);
    cdf[i + 4] = i + 4 + ((c4 * k) | 0);
    acc = c4;
  }
  for (; i < n; i++) {
    acc += w[i] as number;
    cdf[i + 1] = i + 1 + ((acc * k) | 0);
  }
  cdf[0] = 0;
  cdf[n] = totalUnits; // overwrites floor(W·s / 2^29) ≤ budget: the last symbol absorbs the rest
}

/**
 * Builds tables for one alphabet size and precision, reusing a scratch buffer so that each table
 * allocates only its cdf (an entropy model builds one table per token).
 */
export class TableBuilder {
  readonly alphabet: number;
  readonly precision: number;
  /** The kernels `fromLogits` runs on Float32Array rows (see TableBuilderOptions). */
  readonly kernel: TableKernel;
  private readonly weights: Int32Array;
  private readonly simd: SimdRows | null;

  constructor(alphabet: number, precision: number = DEFAULT_PRECISION, options: TableBuilderOptions = {}) {
    checkPrecision(precision, alphabet);
    this.alphabet = alphabet;
    this.precision = precision;
    this.weights = new Int32Array(alphabet);
    const want = options.kernel ?? 'auto';
    if (want !== 'auto' && want !== 'simd' && want !== 'js') throw invalidLogits(`kernel must be 'auto', 'simd' or 'js', got ${String(want)}`);
    const useSimd = want === 'simd' || (want === 'auto' && alphabet >= SIMD_MIN_ALPHABET);
    this.simd = useSimd ? (simdKernel()?.rows(alphabet) ?? null) : null;
    if (want === 'simd' && this.simd === null) throw invalidLogits('the WebAssembly SIMD table kernel is not available on this engine');
    this.kernel = this.simd === null ? 'js' : 'simd';
  }

  /** Logits (e.g. a Float32Array row of model output, `alphabet` long) → integer table. */
  fromLogits(logits: ArrayLike<number>): FrequencyTable {
    return this.fromLogitsInto(logits, new Uint32Array(this.alphabet + 1));
  }

  /**
   * Same, writing into a caller-owned cdf buffer (`alphabet + 1` entries) that the returned
   * table shares: for coders that use each table once and then build the next, where a fresh
   * 32 KB allocation per token would cost more than the arithmetic.
   */
  fromLogitsInto(logits: ArrayLike<number>, cdf: Uint32Array): FrequencyTable {
    const n = this.checkLength(logits.length);
    if (cdf.length !== n + 1) throw invalidLogits(`cdf buffer holds ${cdf.length} entries, need ${n + 1}`);
    if (this.simd !== null && logits instanceof Float32Array && simdTable(this.simd, logits, 2 ** this.precision, cdf)) {
      return { precision: this.precision, cdf };
    }
    const w = this.weights;
    // Fast path: max(x) first, then steps 1-3 fused (NaN if the row has a NaN or too large logit).
    const qMax = n >= 64 ? quantizedMax(maxLogit(logits, n)) : NaN;
    if (qMax === qMax) return this.finishTable(logitWeights(logits, w, n, qMax, EXP2_Q24), cdf);
    // Step by step: short rows, where the extra max pass costs more than it saves, and rows with a
    // NaN or too large logit, for which quantizeInto throws naming the first one.
    return this.finishTable(integerWeights(w, w, n, quantizeInto(logits, w, n), EXP2_Q24), cdf);
  }

  /**
   * The same table from integer logits q_i (1/256 bit, e.g. from `quantizeLogits` or an integer
   * network). Values must lie in (−2^29, 2^29).
   */
  fromQuantized(q: Int32Array): FrequencyTable {
    const n = this.checkLength(q.length);
    let qMax = -536870912;
    for (let i = 0; i < n; i++) {
      const v = q[i] as number;
      if (!(v > -536870913 && v < 536870912)) throw invalidLogits(`integer logit ${i} (${v}) is outside ±2^29`);
      if (v > qMax) qMax = v;
    }
    return this.finishTable(integerWeights(q, this.weights, n, qMax, EXP2_Q24), new Uint32Array(n + 1));
  }

  private finishTable(total: number, cdf: Uint32Array): FrequencyTable {
    cumulativeTable(this.weights, this.alphabet, total, 2 ** this.precision, cdf);
    return { precision: this.precision, cdf };
  }

  private checkLength(length: number): number {
    if (length !== this.alphabet) throw invalidLogits(`expected ${this.alphabet} logits, got ${length}`);
    return length;
  }
}

/** One-off convenience over TableBuilder (allocates scratch; use a TableBuilder in loops). */
export function tableFromLogits(logits: ArrayLike<number>, precision: number = DEFAULT_PRECISION): FrequencyTable {
  return new TableBuilder(logits.length, precision).fromLogits(logits);
}

/**
 * Static (histogram) model: frequencies proportional to `counts`, each symbol ≥ 1. Counts are
 * non-negative integers (e.g. token histograms shipped with a model pack). Built rarely, so the
 * proportional step uses BigInt to stay exact for any count magnitude.
 */
export function tableFromCounts(counts: ArrayLike<number>, precision: number = DEFAULT_PRECISION): FrequencyTable {
  const n = counts.length;
  checkPrecision(precision, n);
  let total = 0n;
  let argMax = 0;
  let max = -1;
  for (let i = 0; i < n; i++) {
    const c = counts[i] as number;
    if (!Number.isSafeInteger(c) || c < 0) {
      throw new ProtocolError(ErrorCode.InvalidArgument, `count ${i} must be a non-negative safe integer, got ${c}`);
    }
    if (c > max) {
      max = c;
      argMax = i;
    }
    total += BigInt(c);
  }
  if (total === 0n) return uniformTable(n, precision);
  const budget = BigInt(2 ** precision - n);
  const extra = new Array<bigint>(n);
  let used = 0n;
  for (let i = 0; i < n; i++) {
    const e = (BigInt(counts[i] as number) * budget) / total;
    extra[i] = e;
    used += e;
  }
  const shortfall = budget - used;
  const cdf = new Uint32Array(n + 1);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += 1 + Number(extra[i] ?? 0n) + (i === argMax ? Number(shortfall) : 0);
    cdf[i + 1] = acc;
  }
  return { precision, cdf };
}
