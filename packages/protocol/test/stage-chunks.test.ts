import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TableBuilder, mixedRadixPlanes, uniformTable, type FrequencyTable } from '../src/coding/index.ts';
import { ErrorCode, ProtocolError } from '../src/errors.ts';
import { StageAssembler, StageChunkDecoder, chunkOffset, decodeStageChunk, encodeStage } from '../src/framing/index.ts';
import { buildSchedule } from '../src/schedule/index.ts';
import { decodeChunk, encodeChunk, type ChunkHeader } from '../src/wire/index.ts';
import { uniform01 } from './helpers.ts';

/** A stand-in "model": a table per grid position, fixed by a seed (both peers build the same). */
function positionTables(cells: number, seed: number): FrequencyTable[] {
  const rand = uniform01(seed);
  const builder = new TableBuilder(8192);
  return Array.from({ length: cells }, () => {
    const logits = new Float32Array(8192);
    for (let i = 0; i < 8192; i++) logits[i] = (rand() - 0.5) * 12;
    return builder.fromLogits(logits);
  });
}

const addr = { stream: 0, message: 3, model: 2 };

describe('stage chunks', () => {
  it('codes a 16x16 grid stage by stage and decodes it bit-exactly, each chunk on its own', () => {
    const schedule = buildSchedule({ width: 16, height: 16, stages: 8, kind: 'cosine', seed: 1 });
    const tables = positionTables(256, 5);
    const rand = uniform01(9);
    const grid = Uint32Array.from({ length: 256 }, () => Math.floor(rand() * 8192));
    const decoded = new Uint32Array(256);
    schedule.stages.forEach((positions, stage) => {
      const chunks = encodeStage({
        ...addr,
        stage,
        tokens: Array.from(positions, (p) => grid[p] as number),
        tableAt: (k) => tables[positions[k] as number] as FrequencyTable,
      });
      const asm = new StageAssembler(stage, positions.length);
      for (const bytes of [...chunks].reverse()) {
        const c = decodeStageChunk(bytes, positions.length, (k) => tables[positions[k] as number] as FrequencyTable);
        asm.accept(c);
      }
      expect(asm.complete).toBe(true);
      positions.forEach((p, k) => (decoded[p] = asm.tokens[k] as number));
      const header = decodeChunk(chunks[0] as Uint8Array).header;
      expect(header).toMatchObject({ stage, stream: 0, message: 3, model: 2, chunkIndex: 0 });
    });
    expect(Array.from(decoded)).toEqual(Array.from(grid));
  });

  it('splits a large stage into equal chunks that fit the budget and survive the loss of siblings', () => {
    const rand = uniform01(2);
    const table = uniformTable(8192); // 13 bits per token: 2000 tokens ≈ 3.25 kB
    const tokens = Array.from({ length: 2000 }, () => Math.floor(rand() * 8192));
    const chunks = encodeStage({ ...addr, stage: 40, tokens, tableAt: () => table, maxPayloadBytes: 1100 });
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    const headers = chunks.map((c) => decodeChunk(c).header);
    const size = headers[0]?.tokenCount ?? 0;
    headers.forEach((h, i) => {
      expect(h.chunkIndex).toBe(i);
      expect(h.last).toBe(i === chunks.length - 1);
      if (!h.last) expect(h.tokenCount).toBe(size);
    });
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(1100 + 12);
    // Drop every other chunk: the survivors still decode and land in the right place.
    const asm = new StageAssembler(40, 2000);
    chunks.forEach((bytes, i) => {
      if (i % 2 === 1) return;
      asm.accept(decodeStageChunk(bytes, 2000, () => table));
    });
    expect(asm.complete).toBe(false);
    for (let k = 0; k < 2000; k++) if (asm.has(k)) expect(asm.tokens[k]).toBe(tokens[k]);
    expect(asm.received).toBeGreaterThan(900);
  });

  it('the checksum covers placement: no single header bit flip is accepted with the tokens at other cells', () => {
    const table = uniformTable(8192);
    const rand = uniform01(11);
    let flips = 0;
    let refused = 0;
    // stages of several chunks (so chunk index and the last flag decide the offset) and of one
    for (const [stageSize, budget] of [[395, 120], [200, 1100], [31, 40]] as const) {
      const tokens = Array.from({ length: stageSize }, () => Math.floor(rand() * 8192));
      const chunks = encodeStage({ ...addr, message: 77, stage: 5, tokens, tableAt: () => table, maxPayloadBytes: budget });
      for (const bytes of chunks) {
        const header = decodeChunk(bytes).header;
        const good = decodeStageChunk(bytes, stageSize, () => table);
        const headerBits = (bytes.length - decodeChunk(bytes).payload.length) * 8;
        for (let bit = 0; bit < headerBits; bit++) {
          const flipped = Uint8Array.from(bytes);
          flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (0x80 >> (bit & 7));
          flips++;
          let got;
          try {
            got = decodeStageChunk(flipped, stageSize, () => table);
          } catch (err) {
            expect(err).toBeInstanceOf(ProtocolError);
            refused++;
            continue;
          }
          // accepted: only if it says the same thing (no header field differs)
          expect(got.header).toEqual(header);
          expect(got.offset).toBe(good.offset);
          expect(Array.from(got.tokens)).toEqual(Array.from(good.tokens));
        }
      }
    }
    expect(flips).toBeGreaterThan(500);
    expect(refused).toBe(flips);
  });

  it('refuses a replayed chunk with ERR_DUPLICATE and leaves the stage unchanged', () => {
    const table = uniformTable(16, 8);
    const [bytes] = encodeStage({ ...addr, stage: 0, tokens: [1, 2, 3], tableAt: () => table });
    const asm = new StageAssembler(0, 3);
    asm.accept(decodeStageChunk(bytes as Uint8Array, 3, () => table));
    expect(() => asm.accept(decodeStageChunk(bytes as Uint8Array, 3, () => table))).toThrow(
      expect.objectContaining({ code: ErrorCode.Duplicate }),
    );
    expect(Array.from(asm.tokens)).toEqual([1, 2, 3]);
    expect(() => new StageAssembler(1, 3).accept(decodeStageChunk(bytes as Uint8Array, 3, () => table))).toThrow(
      expect.objectContaining({ code: ErrorCode.Malformed }),
    );
  });

  it('places chunks from the header alone and rejects impossible placements', () => {
    const h = (chunkIndex: number, tokenCount: number, last: boolean): ChunkHeader => ({
      version: 1, last, stage: 0, stream: 0, model: 0, message: 0, chunkIndex, tokenCount, checksum: 0,
    });
    expect(chunkOffset(h(0, 10, true), 10)).toBe(0);
    expect(chunkOffset(h(1, 4, false), 10)).toBe(4); // 1·T
    expect(chunkOffset(h(2, 2, true), 10)).toBe(8); // T = 4, last holds 2
    const malformed = expect.objectContaining({ code: ErrorCode.Malformed });
    expect(() => chunkOffset(h(0, 9, true), 10)).toThrow(malformed); // single chunk must be whole
    expect(() => chunkOffset(h(2, 4, false), 12)).toThrow(malformed); // non-last reaching the end
    expect(() => chunkOffset(h(3, 3, true), 10)).toThrow(malformed); // 7 not divisible by 3
    expect(() => chunkOffset(h(1, 6, true), 10)).toThrow(malformed); // last longer than T = 4
    expect(() => chunkOffset(h(0, 11, true), 10)).toThrow(malformed);
  });

  it('hostile chunks: bit flips, truncation and random payloads give a typed error, never wrong tokens', () => {
    const tables = positionTables(64, 8);
    const rand = uniform01(4);
    const tokens = Array.from({ length: 64 }, () => Math.floor(rand() * 8192));
    const tableAt = (k: number) => tables[k] as FrequencyTable;
    const [good] = encodeStage({ ...addr, stage: 1, tokens, tableAt });
    const bytes = good as Uint8Array;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ kind: fc.constant('flip' as const), bit: fc.nat({ max: bytes.length * 8 - 1 }) }),
          fc.record({ kind: fc.constant('cut' as const), bit: fc.nat({ max: bytes.length - 1 }) }),
          fc.record({ kind: fc.constant('noise' as const), bit: fc.nat({ max: 2 ** 31 }) }),
        ),
        ({ kind, bit }) => {
          let input: Uint8Array;
          if (kind === 'flip') {
            input = bytes.slice();
            input[bit >> 3] = (input[bit >> 3] as number) ^ (1 << (bit & 7));
          } else if (kind === 'cut') {
            input = bytes.slice(0, bit);
          } else {
            // Valid header, random payload.
            const r = uniform01(bit);
            const { header } = decodeChunk(bytes);
            input = encodeChunk(header, Uint8Array.from({ length: 1 + (bit % 200) }, () => Math.floor(r() * 256)));
          }
          try {
            const out = decodeStageChunk(input, 64, tableAt);
            // Accepted only if it is exactly what was sent (a flip in an unused flush bit, say).
            expect(Array.from(out.tokens)).toEqual(tokens.slice(out.offset, out.offset + out.tokens.length));
          } catch (err) {
            expect(err).toBeInstanceOf(ProtocolError);
          }
        },
      ),
      { numRuns: 600 },
    );
  });

  it('rejects empty stages and tiny budgets', () => {
    const table = uniformTable(4, 8);
    const bad = expect.objectContaining({ code: ErrorCode.InvalidArgument });
    expect(() => encodeStage({ ...addr, stage: 0, tokens: [], tableAt: () => table })).toThrow(bad);
    expect(() => encodeStage({ ...addr, stage: 0, tokens: [1], tableAt: () => table, maxPayloadBytes: 4 })).toThrow(bad);
  });
});

describe('token planes (factorized models)', () => {
  const levels = [8, 8, 8, 4, 4];
  const planes = mixedRadixPlanes(levels);

  it('splits and joins mixed-radix ids (first digit most significant)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8191 }), (t) => {
        const d = Array.from({ length: 5 }, (_, k) => planes.digit(t, k));
        d.forEach((v, k) => expect(v).toBeLessThan(levels[k] as number));
        expect(planes.join(d, 0, 1)).toBe(t);
      }),
    );
    expect([0, 1, 2, 3, 4].map((k) => planes.digit(1024 * 5 + 16 * 3 + 2, k))).toEqual([5, 0, 3, 0, 2]);
    expect(() => mixedRadixPlanes([8, 1])).toThrow(ProtocolError);
  });

  it('codes plane by plane with tables conditioned on earlier digits; each chunk decodes alone', () => {
    // stand-in model: the table of plane k depends on the position and on digits < k of that token
    const tableFor = (pos: number, prefix: number, k: number): FrequencyTable => {
      const rand = uniform01(pos * 7919 + prefix * 31 + k);
      return new TableBuilder(levels[k] as number).fromLogits(Float32Array.from({ length: levels[k] as number }, () => (rand() - 0.5) * 8));
    };
    const prefixOf = (digits: (k: number) => number, k: number) => {
      let p = 0;
      for (let i = 0; i < k; i++) p = p * (levels[i] as number) + digits(i);
      return p;
    };
    const rand = uniform01(3);
    const tokens = Array.from({ length: 700 }, () => Math.floor(rand() * 8192));
    const chunks = encodeStage({
      ...addr,
      stage: 1,
      tokens,
      planes,
      maxPayloadBytes: 400,
      tableAt: (i, k) => tableFor(i, prefixOf((j) => planes.digit(tokens[i] as number, j), k), k),
    });
    expect(chunks.length).toBeGreaterThan(2);
    const asm = new StageAssembler(1, tokens.length);
    for (const bytes of [...chunks].reverse()) {
      const dec = new StageChunkDecoder(bytes, tokens.length, planes);
      for (let k = 0; k < planes.count; k++) {
        const n = dec.count;
        dec.decodePlane((i) => tableFor(i, prefixOf((j) => dec.digits[j * n + (i - dec.offset)] as number, k), k));
      }
      expect(() => dec.decodePlane(() => uniformTable(4))).toThrow(ProtocolError);
      asm.accept(dec.finish());
    }
    expect(Array.from(asm.tokens)).toEqual(tokens);
  });

  it('a flipped payload byte of a planar chunk is a typed error, never wrong tokens', () => {
    const rand = uniform01(4);
    const tokens = Array.from({ length: 64 }, () => Math.floor(rand() * 8192));
    const tables = levels.map((l) => uniformTable(l));
    const [bytes] = encodeStage({ ...addr, stage: 0, tokens, planes, tableAt: (_i, k) => tables[k] as FrequencyTable });
    let typed = 0;
    for (let pos = 8; pos < (bytes as Uint8Array).length; pos++) {
      const bad = Uint8Array.from(bytes as Uint8Array);
      bad[pos] = (bad[pos] as number) ^ 0x5a;
      try {
        const dec = new StageChunkDecoder(bad, 64, planes);
        for (let k = 0; k < 5; k++) dec.decodePlane(() => tables[k] as FrequencyTable);
        dec.finish();
        expect.unreachable('corruption accepted');
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        typed++;
      }
    }
    expect(typed).toBeGreaterThan(10);
  });
});
