import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, ProtocolError } from '../src/errors.ts';
import type { ControlMessage } from '../src/wire/index.ts';
import { CONTROL_TYPE_CODES, CONTROL_TYPES, CONTROL_WIRE_KEYS, decodeControl, encodeControl, scanMsgpack } from '../src/wire/index.ts';
import { expectCode } from './helpers.ts';

// Raw packer for building invalid messages; Maps let tests write any key, `__proto__` included.
const raw = new Packr({ useRecords: false, variableMapSize: true });
/** Packs as written: long field names stay long (a control format 1 peer). */
const packLiteral = (v: unknown): Uint8Array => new Uint8Array(raw.pack(v));
/** Packs with the field names the table knows turned into wire keys, and known type names into codes; anything else as written. */
const pack = (v: unknown): Uint8Array => packLiteral(toWireLenient(v, true));
const WIRE = new Map(Object.entries(CONTROL_WIRE_KEYS));
function toWireLenient(v: unknown, top = false): unknown {
  if (Array.isArray(v)) return v.map((x) => toWireLenient(x));
  if (v instanceof Map) {
    return new Map(
      [...(v as Map<unknown, unknown>)].map(([k, x]) => [
        typeof k === 'string' ? (WIRE.get(k) ?? k) : k,
        top && k === 'type' && typeof x === 'string' && Object.hasOwn(CONTROL_TYPE_CODES, x) ? CONTROL_TYPE_CODES[x] : toWireLenient(x),
      ]),
    );
  }
  if (v === null || typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return v;
  return toWireLenient(toMap(v), top);
}
const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Deep-converts plain objects to Maps so keys like `__proto__` survive packing. */
function toMap(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toMap);
  if (v instanceof Uint8Array || v === null || typeof v !== 'object') return v;
  return new Map(Object.entries(v).map(([k, x]) => [k, toMap(x)]));
}

/** Packs `base` with the value at `path` replaced (or deleted when `value` is DELETE). */
const DELETE = Symbol('delete');
function packWith(base: ControlMessage, path: string, value: unknown): Uint8Array {
  const root = toWireLenient(base, true) as Map<string, unknown>;
  const keys = path.split('.').map((k) => WIRE.get(k) ?? k);
  let node = root;
  for (const k of keys.slice(0, -1)) node = node.get(k) as Map<string, unknown>;
  const last = keys[keys.length - 1] ?? '';
  if (value === DELETE) node.delete(last);
  else node.set(last, toWireLenient(value));
  return packLiteral(root);
}

const sha = 'a'.repeat(44) + '0123456789abcdef0123';

const samples: ControlMessage[] = [
  {
    type: 'open',
    protocolVersion: 1,
    role: 'edge',
    pack: { id: 'unimic-vq16-v1', sha256: sha },
    capabilities: { models: ['vq-f16', 'llamagen-t2i'], tasks: ['t2i', 'inpaint'], maxChunkBytes: 1200 },
  },
  {
    type: 'open',
    protocolVersion: 0,
    role: 'cloud',
    pack: { id: '', sha256: sha },
    capabilities: { models: [], tasks: [], maxChunkBytes: 0, reliability: 'partial' },
  },
  {
    type: 'task',
    requestId: 1,
    task: 't2i',
    grid: { width: 16, height: 16 },
    schedule: { kind: 'cosine', stages: 8, seed: 0xffffffff },
  },
  {
    type: 'task',
    requestId: 0xffffffff,
    task: 'inpaint',
    grid: { width: 3, height: 5 },
    schedule: { kind: 'coarse-to-fine', stages: 64, seed: 0 },
    text: new Uint8Array([0x1b, 0x02, 0x00]),
    mask: new Uint8Array([0xff, 0x7f]),
    steps: 256,
  },
  {
    type: 'task',
    requestId: 9,
    task: 'outpaint',
    grid: { width: 128, height: 128 },
    schedule: { kind: 'raster', stages: 1, seed: 42 },
    outpaint: { side: 'left', amount: 128 },
    steps: 1,
  },
  {
    type: 'result',
    requestId: 3,
    ok: true,
    tokensUp: 12,
    tokensDown: 256,
    bytesUp: 40,
    bytesDown: 300,
    stagesUsed: 8,
    elapsedMs: 123.456,
  },
  {
    type: 'result',
    requestId: 3,
    ok: false,
    tokensUp: 0,
    tokensDown: 0,
    bytesUp: 0,
    bytesDown: 0,
    stagesUsed: 0,
    elapsedMs: 0,
  },
  { type: 'nack', stream: 7, message: 0xffffffff, stage: 2, chunks: [0, 1, 2, 4000] },
  { type: 'nack', stream: 0, message: 5, stage: 0, chunks: [] },
  { type: 'error', code: 'ERR_CHECKSUM', message: 'chunk 3 of stage 2 failed its CRC' },
  { type: 'error', code: 'x', message: '', requestId: 17 },
  { type: 'close', reason: 'done ✓ — bye 👋' },
  { type: 'result', requestId: 4, ok: true, tokensUp: 1, tokensDown: 2, bytesUp: 3, bytesDown: 4, stagesUsed: 5, elapsedMs: 6.5, modelMs: 4.25 },
  { type: 'step', requestId: 3, stream: 2, stage: 4, upStages: 8, cells: new Uint8Array(32).fill(0x11) },
  { type: 'answer', requestId: 3, piece: 0, tokens: [464, 3290, 50256], done: true },
  { type: 'chunk', data: new Uint8Array([1, 2, 3]) },
  { type: 'done', requestId: 3, stream: 1, stages: 8 },
];

const validTask = samples[3] as ControlMessage;
const validOpen = samples[0] as ControlMessage;

describe('control round trips', () => {
  it('covers every message kind', () => {
    expect(new Set(samples.map((s) => s.type))).toEqual(new Set(CONTROL_TYPES));
  });

  for (const msg of samples) {
    it(`round-trips ${msg.type} exactly, and re-encodes to the same bytes`, () => {
      const bytes = encodeControl(msg);
      const decoded = decodeControl(bytes);
      expect(decoded).toEqual(msg);
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
      expect(encodeControl(decoded)).toEqual(bytes);
      expect(decodeControl(encodeControl(decoded))).toEqual(decoded);
      // The caller's buffer is left untouched (msgpackr tags arrays it reads).
      expect(Object.keys(bytes)).toEqual(Object.keys(new Uint8Array(bytes.length)));
    });
  }

  it('keeps a typical task message small', () => {
    expect(encodeControl(samples[2] as ControlMessage).length).toBeLessThan(128);
  });

  it('spends ~3 bytes per field on the per-step messages (short wire keys, integer type)', () => {
    // long names made this step 61 bytes, 43 of them keys; this is 18 bytes + the 6-byte bitmap
    const step = encodeControl({ type: 'step', requestId: 123, stream: 1, stage: 3, upStages: 4, cells: new Uint8Array(6) });
    expect(step.length).toBe(26);
    expect(encodeControl({ type: 'done', requestId: 123, stream: 1, stages: 8 }).length).toBe(13);
    // the worked example of docs/wire-format.md
    expect(Buffer.from(encodeControl({ type: 'nack', stream: 0, message: 7, stage: 5, chunks: [] })).toString('hex')).toBe('85a17404a17300a16d07a16705a16b90');
  });

  it('returns plain Uint8Arrays that do not alias the input', () => {
    const bytes = encodeControl(validTask);
    const d = decodeControl(bytes);
    if (d.type !== 'task' || d.mask === undefined || d.text === undefined) throw new Error('unreachable');
    expect(Object.getPrototypeOf(d.mask)).toBe(Uint8Array.prototype);
    expect(d.mask.buffer).not.toBe(bytes.buffer);
    expect(d.text.buffer).not.toBe(bytes.buffer);
  });

  it('omits optional fields set to undefined', () => {
    const withUndef = { ...(samples[2] as object), text: undefined, steps: undefined } as ControlMessage;
    expect(encodeControl(withUndef)).toEqual(encodeControl(samples[2] as ControlMessage));
  });

  it('accepts any valid MessagePack number form for an integer (uint64, float64)', () => {
    // A nack (type code 4) whose message (m) is float64 7.0 and stage (g) is uint64 5.
    const bytes = fromHex('85 a174 04 a173 00 a16d cb401c000000000000 a167 cf0000000000000005 a16b 90');
    expect(decodeControl(bytes)).toEqual({ type: 'nack', stream: 0, message: 7, stage: 5, chunks: [] });
  });

  it('refuses the retired `ack` (type code 3, protocol ≤ 3) as an unknown type, by code and by name', () => {
    expectCode(() => decodeControl(fromHex('85 a174 03 a173 00 a16d 07 a167 05 a16b 90')), ErrorCode.UnknownType);
    // encoding runs the same schema: a peer never sends what it would refuse
    expect(() => encodeControl({ type: 'ack', stream: 0, message: 7, stage: 5, chunks: [] } as unknown as ControlMessage)).toThrow(/unknown control message type 'ack'/);
  });
});

const str = (max: number): fc.Arbitrary<string> => fc.string({ maxLength: max, unit: 'grapheme' }).filter((s) => s.length <= max);
const u32 = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
  .map(([hi, lo]) => hi * 0x10000 + lo);

const messageArb: fc.Arbitrary<ControlMessage> = fc.oneof(
  fc.record(
    {
      type: fc.constant('open' as const),
      protocolVersion: u32,
      role: fc.constantFrom('edge' as const, 'cloud' as const),
      pack: fc.record({ id: str(128), sha256: fc.stringMatching(/^[0-9a-f]{64}$/) }),
      capabilities: fc.record(
        {
          models: fc.uniqueArray(str(64), { maxLength: 8 }),
          tasks: fc.uniqueArray(fc.constantFrom('t2i' as const, 'inpaint' as const, 'outpaint' as const, 'vqa' as const)),
          maxChunkBytes: u32,
          reliability: fc.constantFrom('reliable' as const, 'partial' as const),
        },
        { requiredKeys: ['models', 'tasks', 'maxChunkBytes'] },
      ),
    },
  ),
  fc
    .record({
      w: fc.integer({ min: 1, max: 128 }),
      h: fc.integer({ min: 1, max: 128 }),
      requestId: u32,
      task: fc.constantFrom('t2i' as const, 'inpaint' as const, 'outpaint' as const, 'vqa' as const),
      kind: fc.constantFrom('cosine' as const, 'coarse-to-fine' as const, 'raster' as const),
      stages: fc.integer({ min: 1, max: 64 }),
      seed: u32,
      text: fc.option(fc.uint8Array({ maxLength: 100 }), { nil: undefined }),
      withMask: fc.boolean(),
      outpaint: fc.option(
        fc.record({
          side: fc.constantFrom('left' as const, 'right' as const, 'top' as const, 'bottom' as const),
          amount: fc.integer({ min: 1, max: 128 }),
        }),
        { nil: undefined },
      ),
      steps: fc.option(fc.integer({ min: 1, max: 256 }), { nil: undefined }),
    })
    .map((r): ControlMessage => {
      const m: Record<string, unknown> = {
        type: 'task',
        requestId: r.requestId,
        task: r.task,
        grid: { width: r.w, height: r.h },
        schedule: { kind: r.kind, stages: r.stages, seed: r.seed },
      };
      if (r.text !== undefined) m['text'] = r.text;
      if (r.withMask) m['mask'] = new Uint8Array(Math.ceil((r.w * r.h) / 8)).fill(0xa5);
      if (r.outpaint !== undefined) m['outpaint'] = r.outpaint;
      if (r.steps !== undefined) m['steps'] = r.steps;
      return m as unknown as ControlMessage;
    }),
  fc.record({
    type: fc.constant('result' as const),
    requestId: u32,
    ok: fc.boolean(),
    tokensUp: u32,
    tokensDown: u32,
    bytesUp: u32,
    bytesDown: u32,
    stagesUsed: u32,
    elapsedMs: fc.oneof(u32, fc.double({ min: 0, max: 1e12, noNaN: true, noDefaultInfinity: true })).map((x) => (x === 0 ? 0 : x)),
  }),
  fc.record({
    type: fc.constant('nack' as const),
    stream: fc.integer({ min: 0, max: 7 }),
    message: u32,
    stage: u32,
    chunks: fc.array(u32, { maxLength: 50 }),
  }),
  fc.record(
    { type: fc.constant('error' as const), code: str(64), message: str(1024), requestId: u32 },
    { requiredKeys: ['type', 'code', 'message'] },
  ),
  fc.record({ type: fc.constant('close' as const), reason: str(256) }),
  fc.record({ type: fc.constant('step' as const), requestId: u32, stream: fc.integer({ min: 0, max: 7 }), stage: fc.integer({ min: 0, max: 255 }), upStages: fc.integer({ min: 0, max: 64 }), cells: fc.uint8Array({ maxLength: 2048 }) }),
  fc.record({ type: fc.constant('answer' as const), requestId: u32, piece: fc.integer({ min: 0, max: 65535 }), tokens: fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 256 }), done: fc.boolean() }),
);

describe('control round trip (property)', () => {
  it('decode(encode(m)) equals m and re-encodes identically', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const bytes = encodeControl(m);
        const d = decodeControl(bytes);
        expect(d).toEqual(m);
        expect(encodeControl(d)).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });
});

describe('decodeControl failures', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('checks the size limit before anything else (ERR_OVERSIZED)', () => {
    expectCode(() => decodeControl(new Uint8Array(65537).fill(0xc1)), ErrorCode.Oversized);
    const ok = encodeControl(validTask);
    expectCode(() => decodeControl(ok, { maxControlBytes: ok.length - 1 }), ErrorCode.Oversized);
  });

  it('rejects empty input and non-map top levels', () => {
    expectCode(() => decodeControl(new Uint8Array(0)), ErrorCode.Truncated);
    for (const v of [[1, 2], 5, 'open', null, true, new Uint8Array(2)]) {
      expectCode(() => decodeControl(pack(v)), ErrorCode.Malformed);
    }
  });

  it('requires an integer type code; unknown codes are ERR_UNKNOWN_TYPE', () => {
    expectCode(() => decodeControl(pack(new Map([['reason', 'x']]))), ErrorCode.InvalidField);
    expectCode(() => decodeControl(pack(new Map<string, unknown>([['type', 7]]))), ErrorCode.InvalidField); // a step without its fields
    for (const name of ['hello', 'Open', 'toString', '7']) expectCode(() => decodeControl(pack(new Map([['type', name]]))), ErrorCode.InvalidField);
    expectCode(() => decodeControl(pack(new Map<string, unknown>([['type', 1.5]]))), ErrorCode.InvalidField);
    for (const code of [11, 127, 2 ** 32]) expectCode(() => decodeControl(pack(new Map<string, unknown>([['type', code]]))), ErrorCode.UnknownType);
  });

  it('keeps every field name and type code in the table unique', () => {
    const keys = Object.values(CONTROL_WIRE_KEYS);
    expect(new Set(keys).size).toBe(keys.length);
    expect(Object.keys(CONTROL_TYPE_CODES).sort()).toEqual([...CONTROL_TYPES].sort());
    expect(new Set(Object.values(CONTROL_TYPE_CODES)).size).toBe(CONTROL_TYPES.length);
  });

  it('tells a control format 1 peer (long field names) by ERR_UNSUPPORTED_VERSION', () => {
    const v1 = packLiteral(new Map<string, unknown>([['type', 'close'], ['reason', 'bye']]));
    const err = expectCode(() => decodeControl(v1), ErrorCode.UnsupportedVersion);
    expect(err.message).toContain('format 1');
    // long names under a wire type are plain unknown fields
    expectCode(() => decodeControl(packLiteral(new Map<string, unknown>([['t', 6], ['reason', 'bye']]))), ErrorCode.InvalidField);
    expect(decodeControl(packLiteral(new Map<string, unknown>([['t', 6], ['re', 'bye']])))).toEqual({ type: 'close', reason: 'bye' });
  });

  it('names the path of a missing field (ERR_INVALID_FIELD)', () => {
    const err = expectCode(() => decodeControl(packWith(validTask, 'grid.width', DELETE)), ErrorCode.InvalidField);
    expect(err.message).toContain('task.grid.width');
    expectCode(() => decodeControl(packWith(validTask, 'requestId', DELETE)), ErrorCode.InvalidField);
    expectCode(() => decodeControl(packWith(validOpen, 'capabilities.tasks', DELETE)), ErrorCode.InvalidField);
    expectCode(() => decodeControl(pack({ type: 'close' })), ErrorCode.InvalidField);
  });

  it('rejects unknown extra fields at any level (ERR_INVALID_FIELD)', () => {
    let err = expectCode(() => decodeControl(packWith(validTask, 'priority', 1)), ErrorCode.InvalidField);
    expect(err.message).toContain('task.priority');
    err = expectCode(() => decodeControl(packWith(validTask, 'grid.depth', 1)), ErrorCode.InvalidField);
    expect(err.message).toContain('task.grid.depth');
    expectCode(() => decodeControl(packWith(validOpen, 'pack.url', 'x')), ErrorCode.InvalidField);
  });

  it('rejects wrong types and out-of-range values (ERR_INVALID_FIELD)', () => {
    const cases: [ControlMessage, string, unknown][] = [
      [validTask, 'requestId', '1'],
      [validTask, 'requestId', -1],
      [validTask, 'requestId', 2 ** 32],
      [validTask, 'requestId', 1.5],
      [validTask, 'task', 'upscale'],
      [validTask, 'grid', [3, 5]],
      [validTask, 'grid.width', 0],
      [validTask, 'grid.height', 129],
      [validTask, 'schedule.kind', 'linear'],
      [validTask, 'schedule.stages', 65],
      [validTask, 'schedule.seed', 2 ** 32],
      [validTask, 'text', 'plain text'],
      [validTask, 'mask', new Uint8Array(3)], // 3x5 grid needs 2 bytes
      [validTask, 'steps', 0],
      [validTask, 'steps', null], // null is not "absent"
      [validTask, 'outpaint', new Map<string, unknown>([['side', 'up'], ['amount', 1]])],
      [validTask, 'outpaint', new Map<string, unknown>([['side', 'left'], ['amount', 129]])],
      [validOpen, 'role', 'server'],
      [validOpen, 'pack.sha256', 'A'.repeat(64)],
      [validOpen, 'pack.sha256', 'abc'],
      [validOpen, 'capabilities.models', ['a', 'a']],
      [validOpen, 'capabilities.models', ['a', 3]],
      [validOpen, 'capabilities.tasks', ['t2i', 't2i']],
      [validOpen, 'capabilities.reliability', 'best-effort'],
      [samples[5] as ControlMessage, 'ok', 1],
      [samples[5] as ControlMessage, 'elapsedMs', -1],
      [samples[5] as ControlMessage, 'elapsedMs', Number.NaN],
      [samples[5] as ControlMessage, 'elapsedMs', Number.POSITIVE_INFINITY],
      [samples[7] as ControlMessage, 'stream', 8],
      [samples[7] as ControlMessage, 'chunks', [1, -2]],
      [samples[7] as ControlMessage, 'chunks', 'all'],
      [samples[9] as ControlMessage, 'requestId', 'x'],
    ];
    for (const [base, path, value] of cases) {
      expectCode(() => decodeControl(packWith(base, path, value)), ErrorCode.InvalidField);
    }
  });

  it('rejects 64-bit integers beyond uint32 (ERR_INVALID_FIELD)', () => {
    // A nack whose stage is uint64 2^32.
    const bytes = fromHex('85 a174 04 a173 00 a16d 00 a167 cf0000000100000000 a16b 90');
    expectCode(() => decodeControl(bytes), ErrorCode.InvalidField);
  });

  it('rejects strings, arrays and binaries over their limits (ERR_OVERSIZED)', () => {
    const cases: [ControlMessage, string, unknown][] = [
      [samples[9] as ControlMessage, 'code', 'E'.repeat(65)],
      [samples[9] as ControlMessage, 'message', 'm'.repeat(1025)],
      [samples[11] as ControlMessage, 'reason', 'r'.repeat(257)],
      [validOpen, 'capabilities.models', ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']],
      [validOpen, 'capabilities.models', ['m'.repeat(65)]],
      [validOpen, 'pack.id', 'p'.repeat(129)],
      [samples[7] as ControlMessage, 'chunks', new Array<number>(4097).fill(1)],
      [validTask, 'mask', new Uint8Array(2049)],
    ];
    for (const [base, path, value] of cases) {
      expectCode(() => decodeControl(packWith(base, path, value)), ErrorCode.Oversized);
    }
    // Exactly at the limits is fine.
    expect(decodeControl(packWith(samples[9] as ControlMessage, 'code', 'E'.repeat(64))).type).toBe('error');
    expect(decodeControl(packWith(samples[7] as ControlMessage, 'chunks', new Array<number>(4096).fill(1))).type).toBe('nack');
    // text: 64 KiB + 1 byte is over its own limit (message limit raised so that one is hit).
    const big = packWith(validTask, 'text', new Uint8Array(64 * 1024 + 1));
    expectCode(() => decodeControl(big, { maxControlBytes: 70_000 }), ErrorCode.Oversized);
  });

  it('rejects __proto__, constructor and prototype keys anywhere (ERR_FORBIDDEN_KEY)', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      expectCode(() => decodeControl(packWith(validTask, key, 1)), ErrorCode.ForbiddenKey);
      expectCode(() => decodeControl(packWith(validTask, `grid.${key}`, 1)), ErrorCode.ForbiddenKey);
      expectCode(() => decodeControl(packWith(validOpen, `capabilities.${key}`, new Map([['polluted', true]]))), ErrorCode.ForbiddenKey);
      // Inside an array, where no schema would look.
      expectCode(() => decodeControl(packWith(samples[7] as ControlMessage, 'chunks', [new Map([[key, 1]])])), ErrorCode.ForbiddenKey);
      // Even before the type is known.
      expectCode(() => decodeControl(pack(new Map<string, unknown>([[key, 1], ['type', 'nope']]))), ErrorCode.ForbiddenKey);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects huge declared lengths without allocating', () => {
    // 10 bytes declaring 2^32-1 array elements / map entries / string bytes / binary bytes.
    expectCode(() => decodeControl(fromHex('dd ffffffff 0000000000')), ErrorCode.Oversized);
    expectCode(() => decodeControl(fromHex('df ffffffff 0000000000')), ErrorCode.Oversized);
    expectCode(() => decodeControl(fromHex('81 a474797065 db ffffffff')), ErrorCode.Truncated);
    expectCode(() => decodeControl(fromHex('81 a474797065 c6 ffffffff')), ErrorCode.Truncated);
    // Within the item budget but not within the bytes: 1000 elements declared, 3 present.
    expectCode(() => decodeControl(fromHex('dc 03e8 010203')), ErrorCode.Truncated);
  });

  it('caps nesting depth and item count (ERR_OVERSIZED)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 8; i++) deep = [deep];
    // Map (depth 1) + 8 nested arrays = depth 9.
    expectCode(() => decodeControl(packWith(samples[7] as ControlMessage, 'chunks', deep)), ErrorCode.Oversized);
    expectCode(() => decodeControl(fromHex('91'.repeat(100_000).slice(0, 40_000) + '00')), ErrorCode.Oversized);
    const nack = encodeControl({ type: 'nack', stream: 0, message: 0, stage: 0, chunks: new Array<number>(100).fill(0) });
    expectCode(() => decodeControl(nack, { maxItems: 50 }), ErrorCode.Oversized);
    expect(decodeControl(nack, { maxItems: 200 }).type).toBe('nack');
  });

  it('rejects MessagePack ext types, timestamps and undefined (ERR_UNKNOWN_TYPE)', () => {
    const base = '81 a474797065';
    for (const ext of ['d4 00 00', 'd5 01 0000', 'd6 ff 00000000', 'd7 ff 0000000000000000', 'd8 01' + '00'.repeat(16), 'c7 01 05 00', 'c8 0001 05 00', 'c9 00000001 05 00']) {
      expectCode(() => decodeControl(fromHex(base + ext)), ErrorCode.UnknownType);
    }
    // msgpackr record definition (fixext1 0x72) can never reach msgpackr.
    expectCode(() => decodeControl(fromHex('d4 72 40')), ErrorCode.UnknownType);
    expectCode(() => decodeControl(pack(new Map<string, unknown>([['type', 'close'], ['reason', new Date(0)]]))), ErrorCode.UnknownType);
  });

  it('rejects the reserved byte 0xc1, trailing bytes and other structural faults (ERR_MALFORMED)', () => {
    expectCode(() => decodeControl(fromHex('c1')), ErrorCode.Malformed);
    expectCode(() => decodeControl(fromHex('81 a474797065 c1')), ErrorCode.Malformed);
    const ok = encodeControl(samples[11] as ControlMessage);
    const trailing = new Uint8Array([...ok, 0x00]);
    expectCode(() => decodeControl(trailing), ErrorCode.Malformed);
    // Duplicate keys: a later value would silently override an earlier one.
    expectCode(() => decodeControl(fromHex('82 a474797065 a5636c6f7365 a474797065 a5636c6f7365')), ErrorCode.Malformed);
    // Invalid UTF-8 in a value (lone continuation byte) and in a key (overlong '/').
    expectCode(() => decodeControl(fromHex('82 a474797065 a5636c6f7365 a6726561736f6e a180')), ErrorCode.Malformed);
    expectCode(() => decodeControl(fromHex('82 a474797065 a5636c6f7365 a2c0af 00')), ErrorCode.Malformed);
    // UTF-8-encoded surrogate half.
    expectCode(() => decodeControl(fromHex('82 a474797065 a5636c6f7365 a6726561736f6e a3eda080')), ErrorCode.Malformed);
  });

  it('rejects non-string map keys (ERR_INVALID_FIELD)', () => {
    expectCode(() => decodeControl(pack(new Map<unknown, unknown>([['type', 'close'], [1, 'x']]))), ErrorCode.InvalidField);
  });

  it('reports truncation of a valid message as ERR_TRUNCATED', () => {
    const ok = encodeControl(validTask);
    for (let len = 0; len < ok.length; len++) {
      expectCode(() => decodeControl(ok.subarray(0, len)), ErrorCode.Truncated);
    }
  });

  it('wraps any msgpackr exception into ERR_MALFORMED', () => {
    vi.spyOn(Unpackr.prototype, 'unpack').mockImplementation(() => {
      throw new RangeError('boom');
    });
    expectCode(() => decodeControl(encodeControl(samples[11] as ControlMessage)), ErrorCode.Malformed);
  });

  it('scanMsgpack accepts plain MessagePack and is usable on its own', () => {
    expect(() => scanMsgpack(pack({ a: [1, 2.5, -3, 'x', null, true, new Uint8Array(3)] }))).not.toThrow();
  });
});

describe('encodeControl argument checks', () => {
  it('throws ERR_INVALID_ARGUMENT for invalid messages', () => {
    const bad: unknown[] = [
      { type: 'hello' },
      { ...validTask, requestId: -1 },
      { ...validTask, extra: 1 },
      { ...validOpen, pack: { id: 'x', sha256: 'nope' } },
      { type: 'close', reason: 'r'.repeat(257) },
      { type: 'step', requestId: 1, stream: 8, stage: 0, upStages: 0, cells: new Uint8Array(1) },
      { type: 'step', requestId: 1, stream: 0, stage: 0 },
      { type: 'step', requestId: 1, stream: 0, stage: 0, upStages: 0, cells: new Uint8Array(2049) },
      { type: 'answer', requestId: 1, piece: 0, tokens: [100_001], done: false },
      { type: 'answer', requestId: 1, piece: 0, tokens: new Array(257).fill(1), done: false },
      JSON.parse('{"type":"close","reason":"x","__proto__":{"polluted":1}}'),
      new Date(),
      null,
    ];
    for (const m of bad) expectCode(() => encodeControl(m as ControlMessage), ErrorCode.InvalidArgument);
  });

  it('refuses to produce a message its own decoder would reject for size', () => {
    const task = { ...validTask, text: new Uint8Array(64 * 1024) } as ControlMessage;
    expectCode(() => encodeControl(task), ErrorCode.InvalidArgument);
    const d = decodeControl(encodeControl(task, { maxControlBytes: 70_000 }), { maxControlBytes: 70_000 });
    expect(d.type === 'task' ? d.text?.length : -1).toBe(64 * 1024);
  });
});
