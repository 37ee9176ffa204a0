import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EXP2_Q24,
  TableBuilder,
  quantizeLogits,
  tableFromCounts,
  tableFromLogits,
  uniformTable,
  validateTable,
  type FrequencyTable,
} from '../src/coding/index.ts';
import { ErrorCode, ProtocolError } from '../src/errors.ts';

function sha256(table: FrequencyTable): string {
  const bytes = new Uint8Array(table.cdf.buffer, table.cdf.byteOffset, table.cdf.byteLength);
  return createHash('sha256').update(`P${table.precision}:`).update(bytes).digest('hex');
}

/** Logits from a fixed integer recipe: identical on every platform without any Math.* call. */
function goldenLogits(n: number, seed: number, spread: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s >>> 8) / 2 ** 24 - 0.5) * spread;
  }
  return out;
}

const withCode = (code: string) => expect.objectContaining({ code });

describe('frequency tables', () => {
  it('pins the baked 2^(-j/256) table (it replaces Math.pow, which differs across engines)', () => {
    expect(EXP2_Q24.length).toBe(256);
    expect(EXP2_Q24[0]).toBe(2 ** 24);
    for (let j = 0; j < 256; j++) {
      // Within rounding of the true value, and strictly decreasing.
      expect(Math.abs((EXP2_Q24[j] as number) - 2 ** 24 * 2 ** (-j / 256))).toBeLessThanOrEqual(1);
      if (j > 0) expect(EXP2_Q24[j] as number).toBeLessThan(EXP2_Q24[j - 1] as number);
    }
    const hash = createHash('sha256').update(new Uint8Array(EXP2_Q24.buffer)).digest('hex');
    expect(hash).toMatchInlineSnapshot(`"860d6d9fa77ed4bd2a258cdd6d4190040a2e03653ee0eb51a323c80bae68cfa9"`);
  });

  it('golden vectors: tables pinned by hash, so drift on any platform fails here', () => {
    const hashes = {
      skewed8192: sha256(tableFromLogits(goldenLogits(8192, 1, 24))),
      flat8192: sha256(tableFromLogits(goldenLogits(8192, 2, 0.5))),
      peaked8192p20: sha256(tableFromLogits(goldenLogits(8192, 3, 200), 20)),
      small5p12: sha256(tableFromLogits(Float32Array.of(-1.5, 0, 2.25, -Infinity, 7), 12)),
      uniform8192: sha256(uniformTable(8192)),
      uniform1000p16: sha256(uniformTable(1000, 16)),
      counts: sha256(tableFromCounts([0, 1, 2, 3, 1000, 0, 7], 16)),
    };
    expect(hashes).toMatchInlineSnapshot(`
      {
        "counts": "26b41c1120d14837dc8a861859e62d44a9dbddc5be696cbec4a1fcfb9190de80",
        "flat8192": "e897a7befe1a935e36f66e51c29d36bb135c4a15915f7901be7cf01b9c7c34dc",
        "peaked8192p20": "28772eff1f4023260aaa6b9fde378feea88d661da93882411c1a6a7bf0b6cb74",
        "skewed8192": "3971fc21c90a98423da7d38238735fbe98bd5c750a1285fa9caedf97f497b9ff",
        "small5p12": "5a0d6da3c2c10ce5017e70465dba25674d34417d769156d5375e881a7e036c04",
        "uniform1000p16": "f8f119fe3ef2109c49606040cb15a899a288faf0591b04ee452f1d2e5ce5a940",
        "uniform8192": "3b3bac7fe18798fd54c3663a63660ae6595bca69c28e6f953a979a76c27c7003",
      }
    `);
  });

  it('every builder satisfies the invariants: sum 2^P, each symbol ≥ 1, monotone', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -60, max: 60, noNaN: true }), { minLength: 1, maxLength: 600 }),
        fc.integer({ min: 10, max: 24 }),
        (xs, p) => {
          const logits = Float32Array.from(xs);
          const t = tableFromLogits(logits, p);
          validateTable(t);
          expect(t.cdf.length).toBe(xs.length + 1);
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 300 }), fc.integer({ min: 10, max: 24 }), (counts, p) => {
        validateTable(tableFromCounts(counts, p));
      }),
    );
    validateTable(tableFromCounts([Number.MAX_SAFE_INTEGER, 1, 0], 24));
    for (const n of [1, 2, 3, 255, 8192]) validateTable(uniformTable(n, 16));
  });

  it('is proportional: frequencies follow softmax(logits) closely', () => {
    const logits = goldenLogits(8192, 5, 16);
    const t = tableFromLogits(logits);
    let max = -Infinity;
    for (const x of logits) max = Math.max(max, x);
    let z = 0;
    for (const x of logits) z += Math.exp(x - max);
    // KL(p || q) in bits between the float softmax and the integer table.
    let kl = 0;
    for (let i = 0; i < logits.length; i++) {
      const p = Math.exp((logits[i] as number) - max) / z;
      const q = ((t.cdf[i + 1] as number) - (t.cdf[i] as number)) / 2 ** 24;
      kl += p * Math.log2(p / q);
    }
    expect(kl).toBeLessThan(1e-3);
  });

  it('fromLogits equals fromQuantized(quantizeLogits(·)), near-ties included', () => {
    const builder = new TableBuilder(64);
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.float({ min: -100, max: 100, noNaN: true }),
            fc.integer({ min: -2000, max: 2000 }).map((k) => ((k + 0.5) / 256) * Math.LN2), // near-ties
            fc.constant(Number.NEGATIVE_INFINITY),
          ),
          { minLength: 64, maxLength: 64 },
        ),
        (xs) => {
          if (xs.every((x) => x === Number.NEGATIVE_INFINITY)) return;
          const logits = Float32Array.from(xs);
          const a = builder.fromLogits(logits);
          const b = builder.fromQuantized(quantizeLogits(logits));
          expect(Array.from(a.cdf)).toEqual(Array.from(b.cdf));
        },
      ),
      { numRuns: 400 },
    );
    // Integer logits in 1/256 bit: ln 2 nats = 1 bit = 256 units; −Infinity clamps to −2^29.
    expect(Array.from(quantizeLogits(Float64Array.of(Math.LN2, 0, -Math.LN2, Number.NEGATIVE_INFINITY)))).toEqual([256, 0, -256, -(2 ** 29)]);
  });

  it('integer logits: only differences matter', () => {
    const q = quantizeLogits(goldenLogits(1000, 9, 10));
    const shifted = q.map((v) => v + 12345);
    const builder = new TableBuilder(1000);
    expect(Array.from(builder.fromQuantized(shifted).cdf)).toEqual(Array.from(builder.fromQuantized(q).cdf));
  });

  it('rejects NaN, non-finite or huge maxima, bad precisions and bad counts with typed errors', () => {
    const bad = withCode(ErrorCode.InvalidArgument);
    expect(() => tableFromLogits(Float32Array.of(1, Number.NaN, 2))).toThrow(bad);
    expect(() => tableFromLogits(Float32Array.of(Number.NaN))).toThrow(bad);
    expect(() => tableFromLogits(Float32Array.of(1, Number.POSITIVE_INFINITY))).toThrow(bad);
    expect(() => tableFromLogits(Float32Array.of(2 ** 21, 0))).toThrow(bad);
    expect(() => new TableBuilder(2).fromQuantized(Int32Array.of(2 ** 29, 0))).toThrow(bad);
    expect(() => tableFromLogits(new Float32Array(0))).toThrow(bad);
    expect(() => tableFromLogits(new Float32Array(8), 25)).toThrow(bad);
    expect(() => tableFromLogits(new Float32Array(8), 0)).toThrow(bad);
    expect(() => tableFromLogits(new Float32Array(9), 3)).toThrow(bad); // 9 symbols need > 2^3
    expect(() => new TableBuilder(10).fromLogits(new Float32Array(9))).toThrow(bad);
    expect(() => tableFromCounts([1, -1])).toThrow(bad);
    expect(() => tableFromCounts([1, 0.5])).toThrow(bad);
    expect(() => uniformTable(0)).toThrow(bad);
    expect(() => validateTable({ precision: 8, cdf: Uint32Array.of(0, 100, 100, 256) })).toThrow(bad);
    expect(() => validateTable({ precision: 8, cdf: Uint32Array.of(0, 100, 255) })).toThrow(bad);
    try {
      tableFromLogits(Float32Array.of(Number.NaN));
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as Error).message).toMatch(/NaN/);
    }
  });
});
