import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../src/errors.ts';
import type { ChunkHeader } from '../src/wire/index.ts';
import {
  CHUNK_MAX_HEADER_BYTES,
  CHUNK_MIN_HEADER_BYTES,
  CHUNK_VERSION,
  DEFAULT_CHUNK_LIMITS,
  DEFAULT_CHUNK_PAYLOAD_BYTES,
  MAX_VARINT_BYTES,
  decodeChunk,
  encodeChunk,
  headerLength,
  readVarint,
  varintLength,
  writeVarint,
} from '../src/wire/index.ts';
import { expectCode } from './helpers.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

const typical: ChunkHeader = {
  version: 1,
  last: false,
  stage: 3,
  stream: 2,
  model: 1,
  message: 42,
  chunkIndex: 1,
  tokenCount: 100,
  checksum: 0x11223344,
};

const escaped: ChunkHeader = {
  version: 1,
  last: true,
  stage: 200,
  stream: 7,
  model: 7,
  message: 300,
  chunkIndex: 1000,
  tokenCount: 1000,
  checksum: 0xdeadbeef,
};

const uint32 = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
    .map(([hi, lo]) => hi * 0x10000 + lo),
  fc.constantFrom(127, 128, 16383, 16384, 0x1fffff, 0x200000, 0xfffffff, 0x10000000, 0xffffffff),
);

const headerArb: fc.Arbitrary<ChunkHeader> = fc.record({
  version: fc.constant(CHUNK_VERSION),
  last: fc.boolean(),
  stage: fc.oneof(fc.integer({ min: 0, max: 35 }), fc.integer({ min: 0, max: 255 })),
  stream: fc.integer({ min: 0, max: 7 }),
  model: fc.integer({ min: 0, max: 7 }),
  message: uint32,
  chunkIndex: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 4096 })),
  tokenCount: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 65536 })),
  checksum: uint32,
});

describe('varint', () => {
  it('uses the minimal length at every boundary', () => {
    const cases: [number, number][] = [
      [0, 1], [127, 1], [128, 2], [16383, 2], [16384, 3], [0x1fffff, 3],
      [0x200000, 4], [0xfffffff, 4], [0x10000000, 5], [0xffffffff, 5],
    ];
    for (const [value, len] of cases) {
      expect(varintLength(value)).toBe(len);
      const buf = new Uint8Array(len);
      expect(writeVarint(buf, 0, value)).toBe(len);
      expect(readVarint(buf, 0)).toEqual({ value, offset: len });
    }
    const buf = new Uint8Array(5);
    writeVarint(buf, 0, 300);
    expect(hex(buf.subarray(0, 2))).toBe('ac02');
    writeVarint(buf, 0, 0xffffffff);
    expect(hex(buf)).toBe('ffffffff0f');
  });

  it('round-trips every uint32 at any offset', () => {
    fc.assert(
      fc.property(uint32, fc.nat({ max: 4 }), (value, at) => {
        const buf = new Uint8Array(at + MAX_VARINT_BYTES);
        const end = writeVarint(buf, at, value);
        expect(end - at).toBe(varintLength(value));
        expect(readVarint(buf, at)).toEqual({ value, offset: end });
      }),
      { numRuns: 500 },
    );
  });

  it('rejects truncation with ERR_TRUNCATED', () => {
    expectCode(() => readVarint(new Uint8Array(0), 0), ErrorCode.Truncated);
    expectCode(() => readVarint(fromHex('80'), 0), ErrorCode.Truncated);
    expectCode(() => readVarint(fromHex('ffffffff'), 0), ErrorCode.Truncated);
    expectCode(() => readVarint(fromHex('05'), 1), ErrorCode.Truncated);
  });

  it('rejects non-minimal, too-long and ≥ 2^32 encodings with ERR_MALFORMED', () => {
    expectCode(() => readVarint(fromHex('8000'), 0), ErrorCode.Malformed);
    expectCode(() => readVarint(fromHex('ff00'), 0), ErrorCode.Malformed);
    expectCode(() => readVarint(fromHex('80808000'), 0), ErrorCode.Malformed);
    expectCode(() => readVarint(fromHex('ffffffff10'), 0), ErrorCode.Malformed); // 2^32
    expectCode(() => readVarint(fromHex('ffffffff8f01'), 0), ErrorCode.Malformed); // 6 bytes
    expectCode(() => readVarint(fromHex('8080808000'), 0), ErrorCode.Malformed);
  });

  it('never writes past the buffer and rejects non-uint32 values', () => {
    const buf = new Uint8Array([9, 9, 9]);
    expectCode(() => writeVarint(buf, 1, 16384), ErrorCode.InvalidArgument);
    expect([...buf]).toEqual([9, 9, 9]);
    expectCode(() => writeVarint(buf, 3, 0), ErrorCode.InvalidArgument);
    expectCode(() => writeVarint(buf, -1, 0), ErrorCode.InvalidArgument);
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expectCode(() => varintLength(bad), ErrorCode.InvalidArgument);
      expectCode(() => writeVarint(new Uint8Array(8), 0, bad), ErrorCode.InvalidArgument);
    }
  });
});

describe('chunk header golden bytes', () => {
  it('encodes a typical chunk with an 8-byte header', () => {
    const payload = fromHex('a1b2c3');
    const bytes = encodeChunk(typical, payload);
    expect(headerLength(typical)).toBe(8);
    expect(CHUNK_MIN_HEADER_BYTES).toBe(8);
    // 43: ver 01, L 0, stage 00011 | 45: stream 010, model 001, chunk 01
    // 2a: message 42 | 64: tokenCount 100 | 44332211: CRC LE | a1b2c3: payload
    expect(hex(bytes)).toBe('43452a6444332211a1b2c3');
    const { header, payload: p } = decodeChunk(bytes);
    expect(header).toEqual(typical);
    expect(hex(p)).toBe('a1b2c3');
  });

  it('encodes escaped stage and chunk index after tokenCount, stage first', () => {
    const bytes = encodeChunk(escaped, new Uint8Array(0));
    // 7f: ver 01, L 1, stage 11111 | ff: stream 111, model 111, chunk 11
    // ac02: message 300 | e807: tokenCount 1000 | c801: stageExt 200 | e807: chunkExt 1000
    expect(hex(bytes)).toBe('7fffac02e807c801e807efbeadde');
    expect(headerLength(escaped)).toBe(14);
    expect(decodeChunk(bytes)).toEqual({ header: escaped, payload: new Uint8Array(0) });
  });

  it('switches to the escape exactly at stage 31 and chunk index 3', () => {
    const at = (stage: number, chunkIndex: number): string =>
      hex(encodeChunk({ ...typical, stage, chunkIndex }, new Uint8Array(0)));
    expect(at(30, 2)).toBe('5e462a6444332211');
    expect(at(31, 2)).toBe('5f462a641f44332211');
    expect(at(30, 3)).toBe('5e472a640344332211');
    expect(at(31, 3)).toBe('5f472a641f0344332211');
  });

  it('returns the payload as a zero-copy view of the input', () => {
    const bytes = encodeChunk(typical, fromHex('0102030405'));
    const { payload } = decodeChunk(bytes);
    expect(payload.buffer).toBe(bytes.buffer);
    expect(payload.byteOffset).toBe(8);
    expect(payload.length).toBe(5);
  });

  it('fits the default payload budget under the default chunk limit', () => {
    expect(DEFAULT_CHUNK_PAYLOAD_BYTES).toBe(1100);
    expect(DEFAULT_CHUNK_LIMITS).toEqual({
      maxChunkBytes: 1200,
      maxTokensPerChunk: 65536,
      maxStage: 255,
      maxChunkIndex: 4096,
    });
    expect(DEFAULT_CHUNK_PAYLOAD_BYTES + CHUNK_MAX_HEADER_BYTES).toBeLessThanOrEqual(1200);
    const big = encodeChunk(escaped, new Uint8Array(DEFAULT_CHUNK_PAYLOAD_BYTES));
    expect(decodeChunk(big).payload.length).toBe(DEFAULT_CHUNK_PAYLOAD_BYTES);
  });
});

describe('decodeChunk failures', () => {
  it('reports ERR_TRUNCATED for every proper prefix of a header', () => {
    for (const h of [typical, escaped, { ...typical, message: 0xffffffff, tokenCount: 65536 }]) {
      const bytes = encodeChunk(h, fromHex('ffee'));
      const hl = headerLength(h);
      for (let len = 0; len < hl; len++) {
        expectCode(() => decodeChunk(bytes.subarray(0, len)), ErrorCode.Truncated);
      }
      // The header alone (empty payload) is a complete chunk.
      expect(decodeChunk(bytes.subarray(0, hl)).header).toEqual(h);
    }
  });

  it('reports ERR_UNSUPPORTED_VERSION for versions 0, 2 and 3, even on a 1-byte input', () => {
    const bytes = encodeChunk(typical, new Uint8Array(0));
    for (const v of [0, 2, 3]) {
      const bad = bytes.slice();
      bad[0] = (v << 6) | ((bad[0] ?? 0) & 0x3f);
      expectCode(() => decodeChunk(bad), ErrorCode.UnsupportedVersion);
      expectCode(() => decodeChunk(bad.subarray(0, 1)), ErrorCode.UnsupportedVersion);
    }
  });

  it('rejects escape values that fit the short form (ERR_MALFORMED)', () => {
    expectCode(() => decodeChunk(fromHex('5f462a64 1e 44332211')), ErrorCode.Malformed); // stageExt 30
    expectCode(() => decodeChunk(fromHex('5f462a64 00 44332211')), ErrorCode.Malformed); // stageExt 0
    expectCode(() => decodeChunk(fromHex('5e472a64 02 44332211')), ErrorCode.Malformed); // chunkExt 2
    expectCode(() => decodeChunk(fromHex('5e472a64 00 44332211')), ErrorCode.Malformed); // chunkExt 0
    expectCode(() => decodeChunk(fromHex('5f472a64 1f 02 44332211')), ErrorCode.Malformed);
  });

  it('rejects bad varints in every varint field (ERR_MALFORMED)', () => {
    expectCode(() => decodeChunk(fromHex('4345 8000 64 44332211')), ErrorCode.Malformed); // message
    expectCode(() => decodeChunk(fromHex('4345 ffffffff1f 64 44332211')), ErrorCode.Malformed);
    expectCode(() => decodeChunk(fromHex('4345 2a e400 44332211')), ErrorCode.Malformed); // tokenCount
    expectCode(() => decodeChunk(fromHex('5f46 2a 64 9f00 44332211')), ErrorCode.Malformed); // stageExt
    expectCode(() => decodeChunk(fromHex('5e47 2a 64 8380 00 44332211')), ErrorCode.Malformed); // chunkExt
  });

  it('rejects tokenCount 0 (ERR_MALFORMED) and over the limit (ERR_OVERSIZED)', () => {
    expectCode(() => decodeChunk(fromHex('43452a0044332211')), ErrorCode.Malformed);
    expectCode(() => decodeChunk(fromHex('43452a 818004 44332211')), ErrorCode.Oversized); // 65537
    expect(decodeChunk(fromHex('43452a 808004 44332211')).header.tokenCount).toBe(65536);
    expectCode(() => decodeChunk(fromHex('43452a6444332211'), { maxTokensPerChunk: 99 }), ErrorCode.Oversized);
  });

  it('rejects chunks over maxChunkBytes before reading them (ERR_OVERSIZED)', () => {
    const big = new Uint8Array(1201); // all zero: version 0, but the size check comes first
    expectCode(() => decodeChunk(big), ErrorCode.Oversized);
    const ok = encodeChunk(typical, new Uint8Array(20));
    expectCode(() => decodeChunk(ok, { maxChunkBytes: 27 }), ErrorCode.Oversized);
    expect(decodeChunk(ok, { maxChunkBytes: 28 }).payload.length).toBe(20);
  });

  it('rejects stage and chunk index over their limits (ERR_OVERSIZED)', () => {
    expectCode(() => decodeChunk(fromHex('5f462a64 8002 44332211')), ErrorCode.Oversized); // stage 256
    expectCode(() => decodeChunk(fromHex('5e472a64 8120 44332211')), ErrorCode.Oversized); // chunk 4097
    expect(decodeChunk(fromHex('5e472a64 8020 44332211')).header.chunkIndex).toBe(4096);
    // Tightened limits also bind the short forms, checked right after byte 0 / byte 1.
    expectCode(() => decodeChunk(fromHex('43'), { maxStage: 2 }), ErrorCode.Oversized);
    expectCode(() => decodeChunk(fromHex('4345'), { maxChunkIndex: 0 }), ErrorCode.Oversized);
  });

  it('reports a short checksum as ERR_TRUNCATED', () => {
    expectCode(() => decodeChunk(fromHex('43452a64443322')), ErrorCode.Truncated);
  });

  it('rejects nonsensical limits (ERR_INVALID_ARGUMENT)', () => {
    expectCode(() => decodeChunk(fromHex('43452a6444332211'), { maxChunkBytes: -1 }), ErrorCode.InvalidArgument);
    expectCode(() => decodeChunk(fromHex('43452a6444332211'), { maxStage: 1.5 }), ErrorCode.InvalidArgument);
  });
});

describe('encodeChunk argument checks', () => {
  const empty = new Uint8Array(0);
  const cases: [string, Partial<Record<keyof ChunkHeader, unknown>>][] = [
    ['version 0', { version: 0 }],
    ['version 2', { version: 2 }],
    ['last not boolean', { last: 1 }],
    ['stage -1', { stage: -1 }],
    ['stage 256', { stage: 256 }],
    ['stage 1.5', { stage: 1.5 }],
    ['stream 8', { stream: 8 }],
    ['model 8', { model: 8 }],
    ['model -1', { model: -1 }],
    ['message 2^32', { message: 2 ** 32 }],
    ['message NaN', { message: Number.NaN }],
    ['chunkIndex 4097', { chunkIndex: 4097 }],
    ['tokenCount 0', { tokenCount: 0 }],
    ['tokenCount 65537', { tokenCount: 65537 }],
    ['checksum -1', { checksum: -1 }],
    ['checksum 2^32', { checksum: 2 ** 32 }],
  ];
  for (const [name, patch] of cases) {
    it(`throws ERR_INVALID_ARGUMENT for ${name}`, () => {
      expectCode(() => encodeChunk({ ...typical, ...patch } as ChunkHeader, empty), ErrorCode.InvalidArgument);
    });
  }

  it('throws ERR_INVALID_ARGUMENT when header + payload exceed maxChunkBytes', () => {
    expectCode(() => encodeChunk(typical, new Uint8Array(1193)), ErrorCode.InvalidArgument);
    expect(encodeChunk(typical, new Uint8Array(1192)).length).toBe(1200);
    expectCode(() => encodeChunk(typical, new Uint8Array(3), { maxChunkBytes: 10 }), ErrorCode.InvalidArgument);
  });

  it('honours widened limits on both sides', () => {
    const limits = { maxStage: 100_000, maxChunkIndex: 100_000, maxTokensPerChunk: 1_000_000 };
    const h = { ...typical, stage: 99_999, chunkIndex: 70_000, tokenCount: 999_999 };
    expectCode(() => encodeChunk(h, empty), ErrorCode.InvalidArgument);
    expect(decodeChunk(encodeChunk(h, empty, limits), limits).header).toEqual(h);
  });
});

describe('chunk round trip (property)', () => {
  it('decode(encode(h, p)) returns h and p for all valid fields', () => {
    fc.assert(
      fc.property(headerArb, fc.uint8Array({ maxLength: 64 }), (h, p) => {
        const bytes = encodeChunk(h, p);
        expect(bytes.length).toBe(headerLength(h) + p.length);
        expect(headerLength(h)).toBeGreaterThanOrEqual(CHUNK_MIN_HEADER_BYTES);
        expect(headerLength(h)).toBeLessThanOrEqual(CHUNK_MAX_HEADER_BYTES);
        const d = decodeChunk(bytes);
        expect(d.header).toEqual(h);
        expect(hex(d.payload)).toBe(hex(p));
      }),
      { numRuns: 1000 },
    );
  });

  it('has an 8-byte header whenever stage < 31, chunk < 3, message < 128, tokenCount < 128', () => {
    fc.assert(
      fc.property(
        headerArb,
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 127 }),
        fc.integer({ min: 1, max: 127 }),
        (h, stage, chunkIndex, message, tokenCount) => {
          const t = { ...h, stage, chunkIndex, message, tokenCount };
          expect(headerLength(t)).toBe(8);
          expect(encodeChunk(t, new Uint8Array(0)).length).toBe(8);
        },
      ),
      { numRuns: 200 },
    );
  });
});
