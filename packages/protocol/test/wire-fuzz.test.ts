/**
 * Robustness: arbitrary bytes, truncations and single bit flips must either decode to a
 * valid value or throw a ProtocolError; any other exception (TypeError, RangeError from a
 * library, ...) fails. Decoded values must also be canonical: re-encoding reproduces them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../src/errors.ts';
import type { ChunkHeader, ControlMessage } from '../src/wire/index.ts';
import {
  decodeChunk,
  decodeControl,
  encodeChunk,
  encodeControl,
  headerLength,
  tokenChecksum,
} from '../src/wire/index.ts';

type Outcome<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

/** Runs `fn`; rethrows anything that is not a ProtocolError so fast-check reports it. */
function attempt<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof ProtocolError) {
      expect(Object.values(ErrorCode)).toContain(err.code);
      return { ok: false, error: err };
    }
    throw err;
  }
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  const i = bit >>> 3;
  out[i] = (out[i] ?? 0) ^ (1 << (bit & 7));
  return out;
}

function checkChunk(bytes: Uint8Array): Outcome<unknown> {
  const r = attempt(() => decodeChunk(bytes));
  if (r.ok) {
    // Canonical: the only encoding of this header + payload is the input itself.
    expect(encodeChunk(r.value.header, r.value.payload)).toEqual(bytes);
  }
  return r;
}

function checkControl(bytes: Uint8Array): Outcome<unknown> {
  const r = attempt(() => decodeControl(bytes));
  if (r.ok) {
    const again = decodeControl(encodeControl(r.value));
    expect(again).toEqual(r.value);
  }
  return r;
}

const tokenArb = fc.integer({ min: 0, max: 0x7fffffff }).map((x) => x * 2 + (x & 1)); // spans uint32
const headerArb: fc.Arbitrary<ChunkHeader> = fc.record({
  version: fc.constant(1),
  last: fc.boolean(),
  stage: fc.integer({ min: 0, max: 255 }),
  stream: fc.integer({ min: 0, max: 7 }),
  model: fc.integer({ min: 0, max: 7 }),
  message: fc.integer({ min: 0, max: 0x7fffffff }),
  chunkIndex: fc.integer({ min: 0, max: 4096 }),
  tokenCount: fc.integer({ min: 1, max: 65536 }),
  checksum: fc.integer({ min: 0, max: 0x7fffffff }),
});
const validChunk = fc
  .tuple(headerArb, fc.uint8Array({ maxLength: 48 }))
  .map(([h, p]) => encodeChunk(h, p));

const controlSamples: ControlMessage[] = [
  {
    type: 'open',
    protocolVersion: 1,
    role: 'edge',
    pack: { id: 'pack', sha256: '0f'.repeat(32) },
    capabilities: { models: ['a', 'bb'], tasks: ['vqa'], maxChunkBytes: 1200, reliability: 'reliable' },
  },
  {
    type: 'task',
    requestId: 77,
    task: 'inpaint',
    grid: { width: 4, height: 4 },
    schedule: { kind: 'cosine', stages: 4, seed: 99 },
    text: new Uint8Array([1, 2, 3]),
    mask: new Uint8Array([0xf0, 0x0f]),
    outpaint: { side: 'top', amount: 2 },
    steps: 12,
  },
  {
    type: 'result',
    requestId: 1,
    ok: true,
    tokensUp: 1,
    tokensDown: 2,
    bytesUp: 3,
    bytesDown: 4,
    stagesUsed: 5,
    elapsedMs: 6.5,
  },
  { type: 'nack', stream: 1, message: 2, stage: 3, chunks: [1, 2, 300] },
  { type: 'nack', stream: 1, message: 2, stage: 3, chunks: [70000] },
  { type: 'error', code: 'E', message: 'm', requestId: 5 },
  { type: 'close', reason: 'bye' },
];
const validControl = fc.constantFrom(...controlSamples.map((m) => encodeControl(m)));

describe('decodeChunk fuzz', () => {
  it('random bytes: valid chunk or ProtocolError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void checkChunk(b)), { numRuns: 1000 });
  });

  it('random bytes with a version-1 first byte (reaches deeper fields)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0x40, max: 0x7f }), fc.uint8Array({ maxLength: 40 }), (b0, rest) => {
        void checkChunk(Uint8Array.of(b0, ...rest));
      }),
      { numRuns: 1000 },
    );
  });

  it('truncations: ERR_TRUNCATED inside the header, a shorter payload after it', () => {
    fc.assert(
      fc.property(headerArb, fc.uint8Array({ maxLength: 32 }), fc.nat(), (h, p, cut) => {
        const bytes = encodeChunk(h, p);
        const len = cut % (bytes.length + 1);
        const r = checkChunk(bytes.subarray(0, len));
        if (len < headerLength(h)) {
          expect(r.ok ? 'decoded' : r.error.code).toBe(ErrorCode.Truncated);
        } else {
          expect(r.ok).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('single bit flips: ProtocolError or a chunk that differs from the original', () => {
    fc.assert(
      fc.property(validChunk, fc.nat(), (bytes, n) => {
        const original = decodeChunk(bytes);
        const r = checkChunk(flipBit(bytes, n % (bytes.length * 8)));
        if (r.ok) expect(r.value).not.toEqual(original);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decodeControl fuzz', () => {
  it('random bytes: valid message or ProtocolError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), (b) => void checkControl(b)), { numRuns: 1000 });
  });

  it('random bytes behind a map header (reaches the pre-scan and schema)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0x81, max: 0x8f }), fc.uint8Array({ maxLength: 96 }), (h, rest) => {
        void checkControl(Uint8Array.of(h, 0xa4, 0x74, 0x79, 0x70, 0x65, ...rest));
      }),
      { numRuns: 1000 },
    );
  });

  it('truncations of valid messages are ERR_TRUNCATED', () => {
    fc.assert(
      fc.property(validControl, fc.nat(), (bytes, cut) => {
        const r = checkControl(bytes.subarray(0, cut % bytes.length));
        expect(r.ok ? 'decoded' : r.error.code).toBe(ErrorCode.Truncated);
      }),
      { numRuns: 500 },
    );
  });

  it('single bit flips of valid messages: valid message or ProtocolError', () => {
    fc.assert(
      fc.property(validControl, fc.nat(), (bytes, n) => void checkControl(flipBit(bytes, n % (bytes.length * 8)))),
      { numRuns: 1000 },
    );
  });

  it('random byte overwrites of valid messages: valid message or ProtocolError', () => {
    fc.assert(
      fc.property(validControl, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (bytes, edits) => {
        const b = bytes.slice();
        for (const [at, v] of edits) b[at % b.length] = v;
        void checkControl(b);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('checksum detects corruption', () => {
  it('a bit flip in any token id changes tokenChecksum', () => {
    fc.assert(
      fc.property(fc.array(tokenArb, { minLength: 1, maxLength: 256 }), fc.nat(), fc.nat({ max: 31 }), (tokens, i, bit) => {
        const at = i % tokens.length;
        const flipped = tokens.slice();
        flipped[at] = ((flipped[at] ?? 0) ^ (1 << bit)) >>> 0;
        expect(tokenChecksum(flipped)).not.toBe(tokenChecksum(tokens));
      }),
      { numRuns: 500 },
    );
  });

  it('a bit flip in the CRC field of a chunk makes the decoded tokens fail verification', () => {
    fc.assert(
      fc.property(
        fc.array(tokenArb, { minLength: 1, maxLength: 64 }),
        headerArb,
        fc.nat({ max: 31 }),
        (tokens, h, bit) => {
          const header = { ...h, tokenCount: tokens.length, checksum: tokenChecksum(tokens) };
          const bytes = encodeChunk(header, new Uint8Array([1, 2, 3]));
          const crcAt = headerLength(header) - 4;
          const d = decodeChunk(flipBit(bytes, crcAt * 8 + bit));
          // The receiver compares the header checksum against the tokens it decoded.
          expect(d.header.checksum).not.toBe(tokenChecksum(tokens));
          expect(decodeChunk(bytes).header.checksum).toBe(tokenChecksum(tokens));
        },
      ),
      { numRuns: 500 },
    );
  });
});
