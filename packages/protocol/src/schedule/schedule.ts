/**
 * Progressive decoding schedules: in which order, and in which stages, the cells of a
 * width x height token grid are sent. Both peers rebuild the schedule from
 * (kind, width, height, stages, seed), so only those five numbers travel on the wire.
 *
 * Everything is integer arithmetic or + - * / on doubles (correctly rounded), never Math.cos
 * and friends, so a schedule is bit-identical in every engine. See docs/schedules.md.
 */
import { ErrorCode, ProtocolError } from '../errors.ts';
import { deterministicCos } from './cos.ts';
import { createRng, hashWords, shuffleInPlace } from './hash.ts';

export const SCHEDULE_KINDS = ['cosine', 'coarse-to-fine', 'raster'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

/** Largest grid side: 128 x 128 = 16384 cells keeps every position in a Uint16. */
export const MAX_GRID_SIDE = 128;
/** Stage indices fit a Uint8Array with room to spare; more stages add overhead, not quality. */
export const MAX_STAGES = 64;

export interface ScheduleArgs {
  readonly width: number;
  readonly height: number;
  readonly stages: number;
  readonly kind: ScheduleKind;
  /** uint32; ignored by 'raster' (which has no randomness) but still validated and kept. */
  readonly seed: number;
}

export interface Schedule {
  readonly width: number;
  readonly height: number;
  readonly kind: ScheduleKind;
  readonly seed: number;
  /**
   * Raster positions (y * width + x) per stage, in send order. Together they cover every
   * position exactly once and no stage is empty. Typed arrays cannot be frozen: treat them
   * as read-only.
   */
  readonly stages: readonly Uint16Array[];
}

// Domain-separation tags so the cosine and coarse-to-fine kinds never share random streams.
const TAG_COSINE = 0x636f7331; // 'cos1'
const TAG_COARSE = 0x63326631; // 'c2f1'

const HALF_PI = Math.PI / 2;

function fail(message: string): never {
  throw new ProtocolError(ErrorCode.InvalidArgument, message);
}

function isKind(kind: unknown): kind is ScheduleKind {
  return typeof kind === 'string' && (SCHEDULE_KINDS as readonly string[]).includes(kind);
}

function checkSide(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_GRID_SIDE) {
    fail(`${what} must be an integer in 1..${MAX_GRID_SIDE}, got ${String(value)}`);
  }
  return value;
}

/** floor(log2(n)) for n >= 1, by shifting (Math.log2 is not exactly specified). */
function floorLog2(n: number): number {
  let bits = 0;
  while (n >> (bits + 1) !== 0) bits++;
  return bits;
}

/** Smallest L with 2^L >= n, for n >= 1. */
function ceilLog2(n: number): number {
  let bits = 0;
  while (1 << bits < n) bits++;
  return bits;
}

/**
 * Most stages `kind` can split a width x height grid into with no stage empty.
 * cosine / raster: one cell per stage at the extreme (capped at MAX_STAGES).
 * coarse-to-fine: stage 1 uses stride 2^(stages-2), which must still hit a cell beyond the
 * origin, i.e. 2^(stages-2) <= max(width, height) - 1.
 */
export function maxStages(kind: ScheduleKind, width: number, height: number): number {
  if (!isKind(kind)) fail(`unknown schedule kind ${JSON.stringify(kind)}`);
  const w = checkSide(width, 'width');
  const h = checkSide(height, 'height');
  if (kind === 'coarse-to-fine') {
    const side = Math.max(w, h);
    return side === 1 ? 1 : Math.min(MAX_STAGES, floorLog2(side - 1) + 2);
  }
  return Math.min(MAX_STAGES, w * h);
}

/**
 * Cumulative revealed-cell counts of the cosine (MaskGIT) schedule: element s (0..stages) is
 * how many cells are known after stage s. The raw curve is N - floor(N * cos(pi/2 * s/S));
 * it is then nudged so each stage reveals >= 1 cell: first pushed up to >= previous + 1,
 * then capped at N - (S - s) so later stages keep a cell each. Both bounds are strictly
 * increasing in s, so the result is too, and it ends at exactly N.
 */
export function cosineRevealed(cells: number, stages: number): Uint32Array {
  if (!Number.isInteger(cells) || cells < 1 || cells > MAX_GRID_SIDE * MAX_GRID_SIDE) {
    fail(`cells must be an integer in 1..${MAX_GRID_SIDE * MAX_GRID_SIDE}, got ${cells}`);
  }
  if (!Number.isInteger(stages) || stages < 1 || stages > Math.min(MAX_STAGES, cells)) {
    fail(`stages must be an integer in 1..${Math.min(MAX_STAGES, cells)}, got ${stages}`);
  }
  const out = new Uint32Array(stages + 1);
  let prev = 0;
  for (let s = 1; s <= stages; s++) {
    // Fixed operation order: (pi/2 * s) / S, so every engine rounds identically.
    const raw = s === stages ? cells : cells - Math.floor(cells * deterministicCos((HALF_PI * s) / stages));
    const atLeast = Math.max(raw, prev + 1);
    const value = Math.min(atLeast, cells - (stages - s));
    out[s] = value;
    prev = value;
  }
  return out;
}

/**
 * Seeded permutation of the four quadrants of the quadtree node at `level` (node side
 * 2^(level+1)) with node coordinates (nx, ny), packed as four 2-bit ranks (quadrant q's rank
 * in bits 2q..2q+1). Drawn from a hash of the node by a Fisher–Yates walk over the hash's
 * digits in bases 4, 3, 2 (bias ~ 24 / 2^32, irrelevant here).
 */
function quadrantRanks(seed: number, level: number, nx: number, ny: number): number {
  let r = hashWords([TAG_COSINE, seed, level, nx, ny]);
  const perm = [0, 1, 2, 3];
  for (let i = 3; i > 0; i--) {
    const j = r % (i + 1);
    r = (r - j) / (i + 1);
    const tmp = perm[i] ?? 0;
    perm[i] = perm[j] ?? 0;
    perm[j] = tmp;
  }
  return (perm[0] ?? 0) | ((perm[1] ?? 0) << 2) | ((perm[2] ?? 0) << 4) | ((perm[3] ?? 0) << 6);
}

/**
 * Seeded ordered-dither (Bayer-like) order of all cells. The grid is padded to a 2^L square;
 * each cell's key has one base-4 digit per quadtree level, finest level most significant:
 * digit = seeded rank of the cell's quadrant inside its parent node. Sorted by key, the first
 * quarter therefore holds exactly one cell of every (padded) 2x2 block, the first 1/16 one of
 * every 4x4 block, and so on; padded cells are dropped. Keys are a bijection onto 0..4^L-1
 * (decode from the coarsest digit down), so a counting placement replaces a sort.
 */
export function spreadOrder(width: number, height: number, seed: number): Uint16Array {
  const w = checkSide(width, 'width');
  const h = checkSide(height, 'height');
  checkSeed(seed);
  const levels = ceilLog2(Math.max(w, h));
  const side = 1 << levels;
  const slots = new Int32Array(side * side).fill(-1);
  // One permutation per node, shared by all cells under it: cache it by (level, nx, ny).
  const rankCache = new Map<number, number>();
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let key = 0;
      for (let level = 0; level < levels; level++) {
        const q = (((y >> level) & 1) << 1) | ((x >> level) & 1);
        const nx = x >> (level + 1);
        const ny = y >> (level + 1);
        const nodeKey = (level * MAX_GRID_SIDE + nx) * MAX_GRID_SIDE + ny;
        let ranks = rankCache.get(nodeKey);
        if (ranks === undefined) {
          ranks = quadrantRanks(seed, level, nx, ny);
          rankCache.set(nodeKey, ranks);
        }
        const rank = (ranks >> (2 * q)) & 3;
        // digit for level l has weight 4^(levels-1-l): finest level most significant.
        key += rank * (1 << (2 * (levels - 1 - level)));
      }
      slots[key] = y * w + x;
    }
  }
  const order = new Uint16Array(w * h);
  let n = 0;
  for (const pos of slots) {
    if (pos >= 0) order[n++] = pos;
  }
  return order;
}

function checkSeed(seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    fail(`seed must be a uint32, got ${String(seed)}`);
  }
  return seed;
}

function buildCosine(w: number, h: number, stages: number, seed: number): Uint16Array[] {
  const order = spreadOrder(w, h, seed);
  const revealed = cosineRevealed(w * h, stages);
  const out: Uint16Array[] = [];
  for (let s = 0; s < stages; s++) {
    out.push(order.slice(revealed[s] ?? 0, revealed[s + 1] ?? 0));
  }
  return out;
}

/** Trailing zero bits of a positive int (the largest power-of-two stride dividing it). */
function trailingZeros(n: number): number {
  let tz = 0;
  while (((n >> tz) & 1) === 0) tz++;
  return tz;
}

function buildCoarseToFine(w: number, h: number, stages: number, seed: number): Uint16Array[] {
  // Cell (x, y) lies on the stride-2^t lattice iff 2^t divides both x and y, i.e.
  // t <= tz(x | y). Stage k uses stride 2^(stages-1-k), so a cell belongs to stage
  // stages-1-tz(x|y), clamped to stage 0 for the origin and other top-lattice cells.
  const stageOfCell = new Uint8Array(w * h);
  const sizes = new Uint32Array(stages);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const bits = x | y;
      const tz = bits === 0 ? stages : trailingZeros(bits);
      const stage = tz >= stages - 1 ? 0 : stages - 1 - tz;
      stageOfCell[y * w + x] = stage;
      sizes[stage] = (sizes[stage] ?? 0) + 1;
    }
  }
  const out = Array.from(sizes, (n) => new Uint16Array(n));
  const fill = new Uint32Array(stages);
  for (let pos = 0; pos < w * h; pos++) {
    const stage = stageOfCell[pos] ?? 0;
    const arr = out[stage];
    if (arr === undefined) continue;
    arr[fill[stage] ?? 0] = pos;
    fill[stage] = (fill[stage] ?? 0) + 1;
  }
  // Shuffle within each stage so a lost chunk drops scattered cells rather than a row strip.
  out.forEach((arr, stage) => shuffleInPlace(arr, createRng(hashWords([TAG_COARSE, seed, stage]))));
  return out;
}

function buildRaster(w: number, h: number, stages: number): Uint16Array[] {
  const n = w * h;
  const out: Uint16Array[] = [];
  for (let s = 0; s < stages; s++) {
    // s * n <= 64 * 16384: exact integer arithmetic; parts differ in size by at most one.
    const start = Math.floor((s * n) / stages);
    const end = Math.floor(((s + 1) * n) / stages);
    const part = new Uint16Array(end - start);
    for (let i = 0; i < part.length; i++) part[i] = start + i;
    out.push(part);
  }
  return out;
}

/**
 * Builds the schedule for `args`. Throws ERR_INVALID_ARGUMENT for a side outside 1..128, a
 * non-uint32 seed, an unknown kind, or a stage count outside 1..maxStages(kind, w, h) —
 * coarse-to-fine does not silently clamp, because both peers must agree on the count the
 * sender announced.
 */
export function buildSchedule(args: ScheduleArgs): Schedule {
  if (typeof args !== 'object' || args === null) fail('schedule arguments must be an object');
  const { kind, stages } = args;
  if (!isKind(kind)) fail(`unknown schedule kind ${JSON.stringify(kind)}; expected one of ${SCHEDULE_KINDS.join(', ')}`);
  const w = checkSide(args.width, 'width');
  const h = checkSide(args.height, 'height');
  const seed = checkSeed(args.seed);
  const limit = maxStages(kind, w, h);
  if (typeof stages !== 'number' || !Number.isInteger(stages) || stages < 1 || stages > limit) {
    const why =
      kind === 'coarse-to-fine'
        ? ` (stride halving from 2^(stages-1) leaves stages empty beyond ${limit} on a ${w}x${h} grid)`
        : '';
    fail(`stages must be an integer in 1..${limit} for ${kind} ${w}x${h}, got ${String(stages)}${why}`);
  }
  let built: Uint16Array[];
  switch (kind) {
    case 'cosine':
      built = buildCosine(w, h, stages, seed);
      break;
    case 'coarse-to-fine':
      built = buildCoarseToFine(w, h, stages, seed);
      break;
    case 'raster':
      built = buildRaster(w, h, stages);
      break;
  }
  return Object.freeze({ width: w, height: h, kind, seed, stages: Object.freeze(built) });
}

/** Position -> stage index (stages <= 64, so a Uint8Array). */
export function stageOf(schedule: Schedule): Uint8Array {
  const out = new Uint8Array(schedule.width * schedule.height);
  schedule.stages.forEach((positions, stage) => {
    for (const pos of positions) out[pos] = stage;
  });
  return out;
}

/** Number of cells in each stage. */
export function stageSizes(schedule: Schedule): Uint32Array {
  return Uint32Array.from(schedule.stages, (s) => s.length);
}

function checkStageIndex(stage: number, inclusiveMax: number): void {
  if (!Number.isInteger(stage) || stage < 0 || stage > inclusiveMax) {
    fail(`stage must be an integer in 0..${inclusiveMax}, got ${stage}`);
  }
}

/**
 * Positions of all stages before `stage` (0..stageCount), in send order: what a receiver
 * holds when stage `stage` is the next to arrive. positionsBefore(s, stageCount) is every
 * position.
 */
export function positionsBefore(schedule: Schedule, stage: number): Uint16Array {
  checkStageIndex(stage, schedule.stages.length);
  let total = 0;
  for (let s = 0; s < stage; s++) total += schedule.stages[s]?.length ?? 0;
  const out = new Uint16Array(total);
  let offset = 0;
  for (let s = 0; s < stage; s++) {
    const part = schedule.stages[s];
    if (part === undefined) continue;
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Cells known after stages 0..stage-1 have arrived (cumulative counts, length stageCount+1). */
export function revealedCounts(schedule: Schedule): Uint32Array {
  const out = new Uint32Array(schedule.stages.length + 1);
  schedule.stages.forEach((s, i) => {
    out[i + 1] = (out[i] ?? 0) + s.length;
  });
  return out;
}
