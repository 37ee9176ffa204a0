import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  RangeDecoder,
  RangeEncoder,
  TableBuilder,
  decodeSymbols,
  encodeSymbols,
  tableFromCounts,
  uniformTable,
  type FrequencyTable,
} from '../src/coding/index.ts';
import { ErrorCode, ProtocolError } from '../src/errors.ts';
import { uniform01 } from './helpers.ts';

function skewedTable(n: number, spread: number, rand: () => number): FrequencyTable {
  const logits = new Float32Array(n);
  for (let i = 0; i < n; i++) logits[i] = (rand() - 0.5) * spread;
  return new TableBuilder(n).fromLogits(logits);
}

/** Samples a symbol from the table's own distribution. */
function sample(table: FrequencyTable, rand: () => number): number {
  const u = Math.floor(rand() * (table.cdf[table.cdf.length - 1] as number));
  let lo = 0;
  let hi = table.cdf.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if ((table.cdf[mid] as number) <= u) lo = mid;
    else hi = mid;
  }
  return lo;
}

function idealBits(symbols: ArrayLike<number>, tables: (i: number) => FrequencyTable): number {
  let bits = 0;
  for (let i = 0; i < symbols.length; i++) {
    const t = tables(i);
    const s = symbols[i] as number;
    bits -= Math.log2(((t.cdf[s + 1] as number) - (t.cdf[s] as number)) / 2 ** t.precision);
  }
  return bits;
}

describe('range coder', () => {
  it('round-trips symbols with a different 8192-way table per symbol, near the ideal size', () => {
    const rand = uniform01(7);
    const tables = Array.from({ length: 16 }, (_, i) => skewedTable(8192, 4 + i * 2, rand));
    const tableAt = (i: number) => tables[i % tables.length] as FrequencyTable;
    const symbols = Array.from({ length: 20_000 }, (_, i) => sample(tableAt(i), rand));
    const bytes = encodeSymbols(symbols, tableAt);
    expect(Array.from(decodeSymbols(bytes, symbols.length, tableAt))).toEqual(symbols);
    const ratio = (bytes.length * 8) / idealBits(symbols, tableAt);
    expect(ratio).toBeGreaterThan(1);
    expect(ratio).toBeLessThan(1.001);
  });

  it('round-trips at every precision from 1 to 24', () => {
    const rand = uniform01(3);
    for (let p = 1; p <= 24; p++) {
      const n = Math.min(2 ** p - 1, 50);
      const table = n === 1 ? uniformTable(1, p) : tableFromCounts(Array.from({ length: n }, () => Math.floor(rand() * 100)), p);
      const symbols = Array.from({ length: 500 }, () => Math.floor(rand() * n));
      const bytes = encodeSymbols(symbols, table);
      expect(Array.from(decodeSymbols(bytes, symbols.length, table)), `P=${p}`).toEqual(symbols);
    }
  });

  it('handles carries: long runs at the very top of the range', () => {
    // The last symbol of a table whose mass sits at the bottom pushes `low` up to just under a
    // power of 256 over and over, producing 0xFF runs that a later carry must ripple through.
    const counts = new Array<number>(256).fill(0);
    counts[0] = 1_000_000;
    const table = tableFromCounts(counts, 24);
    const rand = uniform01(11);
    for (let trial = 0; trial < 50; trial++) {
      const symbols = Array.from({ length: 3000 }, () => (rand() < 0.5 ? 255 : rand() < 0.5 ? 0 : Math.floor(rand() * 256)));
      const bytes = encodeSymbols(symbols, table);
      expect(Array.from(decodeSymbols(bytes, symbols.length, table))).toEqual(symbols);
    }
  });

  it('codes an almost-certain symbol in almost no bytes, and an empty stream in zero', () => {
    const counts = new Array<number>(8192).fill(0);
    counts[42] = 1;
    const table = tableFromCounts(counts, 24);
    const symbols = new Array<number>(1000).fill(42);
    const bytes = encodeSymbols(symbols, table);
    // -log2((2^24 - 8191) / 2^24) · 1000 ≈ 0.7 bits in total.
    expect(bytes.length).toBeLessThanOrEqual(2);
    expect(Array.from(decodeSymbols(bytes, 1000, table))).toEqual(symbols);
    expect(encodeSymbols([], table).length).toBe(0);
    expect(decodeSymbols(new Uint8Array(0), 0, table).length).toBe(0);
  });

  it('is FIFO and streaming: one encoder, symbol by symbol, mixed alphabets and precisions', () => {
    const rand = uniform01(5);
    const tables = [uniformTable(2, 1), uniformTable(8192, 24), tableFromCounts([5, 1, 1], 12), skewedTable(300, 20, rand)];
    const enc = new RangeEncoder(4);
    const plan: Array<[number, FrequencyTable]> = [];
    for (let i = 0; i < 5000; i++) {
      const t = tables[Math.floor(rand() * tables.length)] as FrequencyTable;
      const s = sample(t, rand);
      plan.push([s, t]);
      enc.encode(s, t);
    }
    const bytes = enc.finish();
    const dec = new RangeDecoder(bytes);
    for (const [s, t] of plan) expect(dec.decode(t)).toBe(s);
    expect(() => dec.finish()).not.toThrow();
  });

  it('rejects symbols outside the table and use after finish', () => {
    const table = uniformTable(10);
    const enc = new RangeEncoder();
    for (const bad of [-1, 10, 1.5, Number.NaN]) {
      expect(() => enc.encode(bad, table)).toThrow(ProtocolError);
    }
    enc.finish();
    expect(() => enc.encode(1, table)).toThrow(/finished/);
    expect(() => enc.finish()).toThrow(/finished/);
  });

  it('flags trailing bytes the encoder could not have written', () => {
    const table = uniformTable(256);
    const bytes = encodeSymbols([1, 2, 3], table);
    const padded = new Uint8Array(bytes.length + 8);
    padded.set(bytes);
    padded.fill(0x55, bytes.length);
    expect(() => decodeSymbols(padded, 3, table)).toThrow(expect.objectContaining({ code: ErrorCode.Malformed }));
  });

  it('decodes garbage in bounded steps: symbols in range or a typed error, never a hang', () => {
    const rand = uniform01(9);
    const tables = [skewedTable(8192, 30, rand), uniformTable(8192), tableFromCounts([1, 0, 0, 7], 24)];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 400 }), (bytes, ti, count) => {
        const table = tables[ti] as FrequencyTable;
        try {
          const out = decodeSymbols(bytes, count, table);
          expect(out.length).toBe(count);
          for (const s of out) expect(s).toBeLessThan(table.cdf.length - 1);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
          expect([ErrorCode.CorruptStream, ErrorCode.Malformed]).toContain((err as ProtocolError).code);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: any symbols with any tables round-trip', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 8, max: 24 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 300 }),
        (countSets, precision, picks) => {
          const tables = countSets.map((c) => tableFromCounts(c, precision));
          const plan = picks.map(([a, b]) => {
            const t = tables[a % tables.length] as FrequencyTable;
            return [b % (t.cdf.length - 1), t] as const;
          });
          const bytes = encodeSymbols(
            plan.map(([s]) => s),
            (i) => (plan[i] as readonly [number, FrequencyTable])[1],
          );
          const back = decodeSymbols(bytes, plan.length, (i) => (plan[i] as readonly [number, FrequencyTable])[1]);
          expect(Array.from(back)).toEqual(plan.map(([s]) => s));
        },
      ),
      { numRuns: 300 },
    );
  });
});
