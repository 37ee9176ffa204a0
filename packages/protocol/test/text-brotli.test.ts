import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { brotliCompressSync, brotliDecompressSync, constants as zc } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ErrorCode, ProtocolError } from '../src/errors.ts';
import {
  BROTLI_LGWIN,
  BROTLI_QUALITY,
  DEFAULT_MAX_TEXT_BYTES,
  compressText,
  createTextCodec,
  decompressText,
  loadBrotli,
} from '../src/text/index.ts';
import type { BrotliImpl } from '../src/text/index.ts';
import { loadBrotliNode } from '../src/text/brotli-node.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err; // anything but a ProtocolError fails the test
  }
}

let brotli: BrotliImpl;
beforeAll(async () => {
  brotli = await loadBrotli();
});

describe('loading', () => {
  it('loadBrotli is idempotent and gives the node build under Node', async () => {
    expect(await loadBrotli()).toBe(brotli);
    expect(loadBrotliNode()).toBe(brotli); // require() caches the module
  });

  it('compressText before loading is a typed error', async () => {
    vi.resetModules();
    const fresh = await import('../src/text/brotli.ts');
    // A fresh module graph has its own ProtocolError class, so compare codes, not classes.
    expect(() => fresh.compressText('x')).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => fresh.decompressText(new Uint8Array([0x3b]))).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, name: 'ProtocolError' }),
    );
  });

  it('ensureBrotli loads and installs once: concurrent and later calls share one promise', async () => {
    vi.resetModules();
    const real = await import('../src/text/brotli-node.ts');
    const loadBrotliNode = vi.fn(real.loadBrotliNode);
    vi.doMock('../src/text/brotli-node.ts', () => ({ loadBrotliNode }));
    try {
      const fresh = await import('../src/text/index.ts');
      expect(() => fresh.compressText('x')).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
      const first = fresh.ensureBrotli();
      const second = fresh.ensureBrotli();
      expect(second).toBe(first);
      await expect(Promise.all([first, second, fresh.ensureBrotli()])).resolves.toEqual([undefined, undefined, undefined]);
      await fresh.ensureBrotli();
      expect(fresh.ensureBrotli()).toBe(first);
      expect(loadBrotliNode).toHaveBeenCalledTimes(1);
      expect(fresh.decompressText(fresh.compressText('ensured'))).toBe('ensured');
    } finally {
      vi.doUnmock('../src/text/brotli-node.ts');
    }
  });

  it('ensureBrotli retries after a failed load', async () => {
    vi.resetModules();
    const real = await import('../src/text/brotli-node.ts');
    const loadBrotliNode = vi.fn(real.loadBrotliNode).mockImplementationOnce(() => {
      throw new Error('no wasm');
    });
    vi.doMock('../src/text/brotli-node.ts', () => ({ loadBrotliNode }));
    try {
      const fresh = await import('../src/text/index.ts');
      await expect(fresh.ensureBrotli()).rejects.toThrow('no wasm');
      await fresh.ensureBrotli();
      expect(loadBrotliNode).toHaveBeenCalledTimes(2);
      expect(fresh.decompressText(fresh.compressText('again'))).toBe('again');
    } finally {
      vi.doUnmock('../src/text/brotli-node.ts');
    }
  });
});

describe('compressText / decompressText', () => {
  it('round-trips ASCII, emoji, CJK, empty and edge-case text', () => {
    for (const text of [
      '',
      'a',
      'a red circle on a blue background',
      '🎨🖼️ 👩‍👩‍👧 🔴',
      '赤い円と青い背景の画像',
      '\uFEFFleading BOM is kept',
      'NUL\u0000inside',
      'x'.repeat(50000),
    ]) {
      expect(decompressText(compressText(text))).toBe(text);
    }
  });

  it('round-trips arbitrary well-formed strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        expect(decompressText(compressText(text))).toBe(text);
      }),
      { numRuns: 150 },
    );
  });

  it('golden bytes (quality 11, window 2^22)', () => {
    expect(BROTLI_QUALITY).toBe(11);
    expect(BROTLI_LGWIN).toBe(22);
    expect(hex(compressText('a red circle on a blue background'))).toBe(
      '1b2000f805ea86d37af30a3f28514a40153094714aa22e5aec6078bf00',
    );
    expect(hex(compressText('Q: what colour is the circle? A: red. 赤い円 🔴'))).toBe(
      '8b1980513a207768617420636f6c6f75722069732074686520636972636c653f20413a207265642e20e8b5a4e38184e5868620f09f94b403',
    );
    expect(hex(compressText(''))).toBe('3b');
  });

  it('stream header declares WBITS = 22 (RFC 7932 9.1: bit 1, then 3 bits n, WBITS = 17 + n)', () => {
    for (const text of ['', 'short', 'x'.repeat(100000)]) {
      const first = compressText(text)[0] ?? 0;
      expect(first & 1).toBe(1);
      expect(17 + ((first >> 1) & 7)).toBe(BROTLI_LGWIN);
    }
  });

  it('interop: Node zlib decodes our bytes', () => {
    for (const text of ['a red circle on a blue background', '赤い円 🔴', '', 'y'.repeat(70000)]) {
      expect(Buffer.from(brotliDecompressSync(compressText(text))).toString('utf8')).toBe(text);
    }
  });

  it('interop: we decode Node zlib bytes', () => {
    const bytes = brotliCompressSync(Buffer.from('from zlib ✓ 東京', 'utf8'));
    expect(decompressText(new Uint8Array(bytes))).toBe('from zlib ✓ 東京');
  });

  it("the browser (web) build emits the same bytes as the node build", async () => {
    // The package's exports hide pkg.web, so load it by file path and feed it the wasm bytes
    // (what the browser build fetches by URL).
    const root = dirname(createRequire(import.meta.url).resolve('brotli-wasm'));
    const web = (await import(pathToFileURL(join(root, 'pkg.web', 'brotli_wasm.js')).href)) as BrotliImpl & {
      default: (wasm: Uint8Array) => Promise<unknown>;
    };
    await web.default(readFileSync(join(root, 'pkg.web', 'brotli_wasm_bg.wasm')));
    const webCodec = createTextCodec(web);
    for (const text of ['a red circle on a blue background', '赤い円 🔴', 'z'.repeat(5000) + 'end']) {
      expect(hex(webCodec.compressText(text))).toBe(hex(compressText(text)));
      expect(webCodec.decompressText(compressText(text))).toBe(text);
    }
  });
});

describe('decompressText limits', () => {
  it('stops a compression bomb (10 MB of zeros) with ERR_OVERSIZED', () => {
    // brotli-wasm quality 11 output for 10 MiB of zeros, pinned (compressing it here would
    // take seconds); zlib's quality-5 bomb is fast to build and comes from another encoder.
    const pinned = fromHex('cbffff3ff82700e2b14020f7fe2fffff3ff04f00c4611180eefd07');
    const zeros = new Uint8Array(10 * 1024 * 1024);
    // Buffer.equals, not toEqual: deep-equal on 10 MiB takes minutes.
    expect(brotliDecompressSync(pinned).equals(zeros)).toBe(true);
    const bombs = [pinned, new Uint8Array(brotliCompressSync(zeros, { params: { [zc.BROTLI_PARAM_QUALITY]: 5 } }))];
    for (const bomb of bombs) {
      expect(bomb.length).toBeLessThan(100);
      expect(codeOf(() => decompressText(bomb))).toBe(ErrorCode.Oversized);
      expect(codeOf(() => decompressText(bomb, { maxBytes: 1_000_000 }))).toBe(ErrorCode.Oversized);
    }
  });

  it('accepts exactly maxBytes, rejects one more', () => {
    const text = 'é'.repeat(500); // 1000 UTF-8 bytes
    const bytes = compressText(text);
    expect(decompressText(bytes, { maxBytes: 1000 })).toBe(text);
    expect(codeOf(() => decompressText(bytes, { maxBytes: 999 }))).toBe(ErrorCode.Oversized);
    expect(decompressText(compressText(''), { maxBytes: 0 })).toBe('');
    expect(codeOf(() => decompressText(compressText('a'), { maxBytes: 0 }))).toBe(ErrorCode.Oversized);
    const big = 'q'.repeat(DEFAULT_MAX_TEXT_BYTES + 1);
    expect(codeOf(() => decompressText(compressText(big)))).toBe(ErrorCode.Oversized);
    expect(decompressText(compressText(big.slice(1)))).toBe(big.slice(1));
  });

  it('rejects bad arguments', () => {
    expect(codeOf(() => decompressText('3b' as unknown as Uint8Array))).toBe(ErrorCode.InvalidArgument);
    expect(codeOf(() => decompressText(fromHex('3b'), { maxBytes: -1 }))).toBe(ErrorCode.InvalidArgument);
    expect(codeOf(() => decompressText(fromHex('3b'), { maxBytes: 1.5 }))).toBe(ErrorCode.InvalidArgument);
    expect(codeOf(() => compressText(42 as unknown as string))).toBe(ErrorCode.InvalidArgument);
    expect(codeOf(() => compressText('lone \uD800 surrogate'))).toBe(ErrorCode.InvalidArgument);
    expect(codeOf(() => compressText('\uDC00'))).toBe(ErrorCode.InvalidArgument);
  });
});

describe('decompressText on corrupt input', () => {
  // Built in beforeAll: describe bodies run before loadBrotli() has resolved.
  let sample: Uint8Array = new Uint8Array(0);
  beforeAll(() => {
    sample = compressText('Q: what colour is the circle? A: red. 赤い円 🔴 '.repeat(3));
  });

  it('empty input, every truncation and trailing garbage are ERR_MALFORMED', () => {
    expect(codeOf(() => decompressText(new Uint8Array(0)))).toBe(ErrorCode.Malformed);
    for (let n = 0; n < sample.length; n++) {
      expect(codeOf(() => decompressText(sample.subarray(0, n)))).toBe(ErrorCode.Malformed);
    }
    const trailing = new Uint8Array([...sample, 0]);
    expect(codeOf(() => decompressText(trailing))).toBe(ErrorCode.Malformed);
  });

  it('invalid UTF-8 after decompression is ERR_MALFORMED', () => {
    for (const raw of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0x61, 0xe2, 0x82]]) {
      const bytes = brotli.compress(new Uint8Array(raw), { quality: 11 });
      expect(codeOf(() => decompressText(bytes))).toBe(ErrorCode.Malformed);
    }
  });

  it('fuzz: random bytes give a string or a ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const code = codeOf(() => decompressText(bytes, { maxBytes: 4096 }));
        if (code !== undefined) expect([ErrorCode.Malformed, ErrorCode.Oversized]).toContain(code);
      }),
      { numRuns: 1000 },
    );
  });

  it('fuzz: bit flips and byte edits of a valid payload give a string or a ProtocolError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 1, maxLength: 4 }),
        (flips) => {
          const bytes = sample.slice();
          for (const { at, bit } of flips) {
            const i = at % bytes.length;
            bytes[i] = (bytes[i] ?? 0) ^ (1 << bit);
          }
          const code = codeOf(() => decompressText(bytes));
          if (code !== undefined) expect([ErrorCode.Malformed, ErrorCode.Oversized]).toContain(code);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('keeps working after many failures (no leaked wasm state)', () => {
    for (let i = 0; i < 200; i++) codeOf(() => decompressText(new Uint8Array([0xff, 0xff, 0xff, i & 0xff])));
    expect(decompressText(sample)).toContain('赤い円');
  });
});
