import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isProtocolError, subsetFromMask, subsetMask } from '../src/index.ts';

/*
 * Step cells as a bitmap over the still-open target cells: round trips, the size it saves, and
 * every way a bitmap off the wire can be wrong.
 */

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return isProtocolError(err) ? err.code : 'untyped';
  }
  return undefined;
};

describe('subset bitmaps', () => {
  it('round-trip any non-empty subset of any open list, in the open list order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 16383 }), { minLength: 1, maxLength: 300 }), fc.infiniteStream(fc.boolean()), (open, picks) => {
        const it = picks[Symbol.iterator]();
        let chosen = open.filter(() => it.next().value as boolean);
        if (chosen.length === 0) chosen = [open[0] as number];
        const mask = subsetMask(open, [...chosen].reverse());
        expect(mask.length).toBe(Math.ceil(open.length / 8));
        expect(Array.from(subsetFromMask(open, mask))).toEqual(chosen);
      }),
    );
  });

  it("one bit per open cell: an 8x8 hole in 8 cosine steps costs 47 bytes, not 8 × 32", () => {
    let open = Array.from({ length: 64 }, (_, i) => 68 + (i >> 3) * 16 + (i & 7));
    let bytes = 0;
    for (const n of [2, 3, 6, 8, 10, 11, 12, 12]) {
      const chosen = open.slice(0, n);
      bytes += subsetMask(open, chosen).length;
      open = open.slice(n);
    }
    expect(bytes).toBe(47); // ceil(64, 62, 59, 53, 45, 35, 24, 12 / 8)
  });

  it('refuses bitmaps of the wrong length, with bits past the end, or selecting nothing (ERR_MALFORMED)', () => {
    const open = [3, 9, 20, 21, 40, 41, 42, 43, 44, 50];
    expect(code(() => subsetFromMask(open, new Uint8Array(1)))).toBe(ErrorCode.Malformed);
    expect(code(() => subsetFromMask(open, new Uint8Array(3)))).toBe(ErrorCode.Malformed);
    expect(code(() => subsetFromMask(open, Uint8Array.of(0, 0b100)))).toBe(ErrorCode.Malformed);
    expect(code(() => subsetFromMask(open, Uint8Array.of(0, 0)))).toBe(ErrorCode.Malformed);
    expect(code(() => subsetFromMask([], new Uint8Array(0)))).toBe(ErrorCode.Malformed);
    expect(Array.from(subsetFromMask(open, Uint8Array.of(0b1, 0b10)))).toEqual([3, 50]);
  });

  it('refuses to name a cell that is not open, or one twice', () => {
    expect(code(() => subsetMask([1, 2, 3], [4]))).toBe(ErrorCode.InvalidArgument);
    expect(code(() => subsetMask([1, 2, 3], [2, 2]))).toBe(ErrorCode.InvalidArgument);
  });

  it('never throws untyped on random bytes', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }), fc.uint8Array({ maxLength: 8 }), (open, bytes) => {
        const c = code(() => subsetFromMask(open, bytes));
        expect(c === undefined || c === ErrorCode.Malformed).toBe(true);
      }),
    );
  });
});
