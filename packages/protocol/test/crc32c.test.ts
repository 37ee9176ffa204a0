import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isProtocolError } from '../src/errors.ts';
import { crc32c, tokenChecksum } from '../src/wire/crc32c.ts';

/** Bit-at-a-time reference: slow, obviously correct, shares nothing with the fast path. */
function crc32cReference(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function leBytes(tokens: readonly number[]): Uint8Array {
  const out = new Uint8Array(tokens.length * 4);
  const view = new DataView(out.buffer);
  tokens.forEach((t, i) => view.setUint32(i * 4, t, true));
  return out;
}

const uint32 = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
  .map(([hi, lo]) => hi * 0x10000 + lo);

describe('crc32c', () => {
  it('matches the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('matches the RFC 3720 B.4 vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('is 0 for empty input and always returns an unsigned 32-bit integer', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
    const v = crc32c(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(0xffffffff);
  });

  it('agrees with a bitwise reference for every length and alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat({ max: 7 }), (bytes, skip) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        expect(crc32c(view)).toBe(crc32cReference(view));
      }),
      { numRuns: 300 },
    );
  });

  it('chains through the seed: crc(b, crc(a)) === crc(a ++ b)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        const ab = new Uint8Array(a.length + b.length);
        ab.set(a);
        ab.set(b, a.length);
        expect(crc32c(b, crc32c(a))).toBe(crc32c(ab));
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a seed that is not a uint32', () => {
    for (const seed of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => crc32c(new Uint8Array(1), seed)).toThrow(
        expect.objectContaining({ code: ErrorCode.InvalidArgument }),
      );
    }
  });
});

describe('tokenChecksum', () => {
  it('equals crc32c over the ids as 4-byte little-endian uint32', () => {
    expect(tokenChecksum([])).toBe(0);
    expect(tokenChecksum([0x34333231, 0x38373635])).toBe(crc32c(new TextEncoder().encode('12345678')));
    fc.assert(
      fc.property(fc.array(uint32, { maxLength: 64 }), (tokens) => {
        expect(tokenChecksum(tokens)).toBe(crc32c(leBytes(tokens)));
        expect(tokenChecksum(Uint32Array.from(tokens))).toBe(crc32c(leBytes(tokens)));
      }),
      { numRuns: 200 },
    );
  });

  it('rejects ids that are not uint32 instead of wrapping them', () => {
    for (const bad of [-1, 2 ** 32, 0.5, Number.NaN]) {
      let caught: unknown;
      try {
        tokenChecksum([1, bad]);
      } catch (err) {
        caught = err;
      }
      expect(isProtocolError(caught, ErrorCode.InvalidArgument)).toBe(true);
    }
  });
});
