/**
 * Seeded uniform PRNG (mulberry32).
 *
 * Why our own: every impairment decision must be reproducible from a seed (same seed ⇒ same drop
 * pattern, so a failing lab run can be replayed), and netlab must not depend on the protocol
 * package's internals. mulberry32 is 32-bit state, fast, and passes the statistical tests that
 * matter at the 1e5–1e7 sample sizes a lab run produces.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  let a = seed >>> 0;
  return {
    next(): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** Derives an independent sub-seed (e.g. one per relay direction) from a seed and a tag. */
export function deriveSeed(seed: number, tag: number): number {
  let h = (seed ^ Math.imul(tag + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
