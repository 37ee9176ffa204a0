import { describe, expect, it } from 'vitest';
import { ErrorCode, isProtocolError } from '@unimic/protocol';
import { cloudTextIds, parseCloudVocab } from '../src/index.ts';

const good = { bpe: 'gpt2-r50k', pad: 0, unk: 1, eos: 2, ans: 3, first: 4, size: 7, text_len: 4, answer_len: 8, bpe_ids: [11, 262, 3797] };
const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('cloud text vocabulary', () => {
  it('maps BPE ids to compact ids and back, UNK for unknown ids, cut and PAD-filled to the text length', () => {
    const v = parseCloudVocab(bytes(good));
    expect(v.size).toBe(7);
    expect(Array.from(cloudTextIds(v, [262, 99999, 11]))).toEqual([5, 1, 4, 0]);
    expect(Array.from(cloudTextIds(v, [11, 11, 11, 11, 262]))).toEqual([4, 4, 4, 4]);
    expect(v.bpe[6]).toBe(3797);
    expect(v.bpe[2]).toBe(-1); // EOS has no BPE id
  });

  it.each([
    ['not JSON', '{"pad":', ErrorCode.Malformed],
    ['not UTF-8', new Uint8Array([0xff, 0xfe, 0x7b]), ErrorCode.Malformed],
    ['wrong special ids', { ...good, eos: 5 }, ErrorCode.InvalidField],
    ['size not 4 + ids', { ...good, size: 9 }, ErrorCode.InvalidField],
    ['ids not integers', { ...good, bpe_ids: [1, 'x', 3] }, ErrorCode.InvalidField],
    ['negative ids', { ...good, bpe_ids: [1, -2, 3] }, ErrorCode.InvalidField],
    ['repeated ids', { ...good, bpe_ids: [5, 5, 6] }, ErrorCode.InvalidField],
    ['absurd text length', { ...good, text_len: 1e9 }, ErrorCode.InvalidField],
    ['missing answer length', { ...good, answer_len: undefined }, ErrorCode.InvalidField],
    ['an array', [1, 2, 3], ErrorCode.InvalidField],
  ])('refuses %s with a typed error', (_, v, code) => {
    let err: unknown;
    try {
      parseCloudVocab(v instanceof Uint8Array ? v : bytes(v));
    } catch (e) {
      err = e;
    }
    expect(isProtocolError(err, code)).toBe(true);
  });
});
