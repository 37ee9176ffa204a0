import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../src/errors.ts';
import { BPE_NAME, BPE_VOCAB_SIZE, bpeDecode, bpeEncode } from '../src/text/index.ts';
import { expectCode } from './helpers.ts';

describe('GPT-2 BPE (r50k_base)', () => {
  it('names the vocabulary', () => {
    expect(BPE_NAME).toBe('gpt2-r50k');
    expect(BPE_VOCAB_SIZE).toBe(50257);
  });

  it('golden ids', () => {
    const ids = bpeEncode('a red circle on a blue background');
    expect(ids).toBeInstanceOf(Uint32Array);
    expect(Array.from(ids)).toEqual([64, 2266, 9197, 319, 257, 4171, 4469]);
    expect(Array.from(bpeEncode('赤い円 🔴'))).toEqual([164, 113, 97, 18566, 37863, 228, 12520, 242, 112]);
  });

  it('round-trips ASCII, emoji, CJK and empty text', () => {
    for (const text of ['', 'hello world', '  leading and trailing  \n', '🎨🖼️ 👩‍👩‍👧', '赤い円と青い背景', '한국어 텍스트', 'mixed: café 東京 🚀']) {
      expect(bpeDecode(bpeEncode(text))).toBe(text);
    }
    expect(bpeEncode('').length).toBe(0);
  });

  it('round-trips arbitrary well-formed strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        expect(bpeDecode(bpeEncode(text))).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('treats special-token text in user input as plain text', () => {
    const ids = bpeEncode('x <|endoftext|> y');
    expect(Array.from(ids)).not.toContain(50256);
    expect(bpeDecode(ids)).toBe('x <|endoftext|> y');
    expect(bpeDecode([50256])).toBe('<|endoftext|>');
  });

  it('rejects ids outside the vocabulary', () => {
    for (const bad of [[50257], [-1], [1.5], [Number.NaN], [0, 2 ** 32]]) {
      expectCode(() => bpeDecode(bad), ErrorCode.InvalidArgument);
    }
    expectCode(() => bpeDecode(Uint32Array.of(60000)), ErrorCode.InvalidArgument);
    expectCode(() => bpeDecode(null as unknown as number[]), ErrorCode.InvalidArgument);
    expectCode(() => bpeEncode(5 as unknown as string), ErrorCode.InvalidArgument);
  });
});
