/**
 * Integer-only hashing and pseudo-randomness for schedules.
 *
 * Everything here uses 32-bit integer ops (`Math.imul`, shifts, xor) so both peers derive
 * bit-identical schedules from the same seed in any JS engine. `Math.random` is never used.
 */

/**
 * 32-bit finalizer ("lowbias32" constants, same shape as murmur3's fmix32): every input bit
 * affects every output bit, so neighbouring inputs (node coordinates 5 and 6) give unrelated
 * outputs.
 */
export function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hash of a short tuple of uint32 words. Each word is absorbed with a golden-ratio offset
 * before mixing, so (a, b) and (b, a) hash differently.
 */
export function hashWords(words: readonly number[]): number {
  let h = 0x243f6a88;
  for (const w of words) {
    h = mix32(((h ^ (w >>> 0)) + 0x9e3779b9) | 0);
  }
  return h;
}

/** A uint32 generator; each call returns the next value in [0, 2^32). */
export type Rng = () => number;

/**
 * splitmix32-style generator: a Weyl sequence (state += golden ratio) passed through mix32.
 * Tiny state, no warm-up, and good enough statistics for shuffling a few thousand cells.
 */
export function createRng(seed: number): Rng {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    return mix32(state);
  };
}

/**
 * Fisher–Yates shuffle in place. The bound is applied as floor(r * n / 2^32): r < 2^32 and
 * n <= 2^14, so the product is below 2^46 and exact in a double — no modulo-bias loop and no
 * engine-dependent rounding.
 */
export function shuffleInPlace(values: Uint16Array, rng: Rng): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor((rng() * (i + 1)) / 4294967296);
    const tmp = values[i] ?? 0;
    values[i] = values[j] ?? 0;
    values[j] = tmp;
  }
}
