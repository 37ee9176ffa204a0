import { ErrorCode, ProtocolError } from '@unimic/protocol';

/*
 * The text-conditional model embeds captions in a compact vocabulary: the BPE (r50k) ids seen in
 * its training captions, so its embedding table stays small. 0 = PAD, 1 = UNK (a BPE id not in
 * the list), 2 + i = the i-th listed BPE id. Captions are truncated or padded to `length` ids.
 */

export interface CaptionVocab {
  readonly length: number;
  readonly unk: number;
  readonly pad: number;
  readonly compact: ReadonlyMap<number, number>;
}

export function parseCaptionVocab(bytes: Uint8Array, length = 32): CaptionVocab {
  let v: { pad?: unknown; unk?: unknown; first?: unknown; bpe_ids?: unknown };
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as typeof v;
  } catch (err) {
    throw new ProtocolError(ErrorCode.Malformed, `caption vocabulary: ${(err as Error).message}`);
  }
  const ids = v.bpe_ids;
  if (v.pad !== 0 || v.unk !== 1 || v.first !== 2 || !Array.isArray(ids) || ids.length > 1 << 20 || !ids.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new ProtocolError(ErrorCode.InvalidField, 'caption vocabulary: need pad 0, unk 1, first 2 and a list of BPE ids');
  }
  return { length, pad: 0, unk: 1, compact: new Map((ids as number[]).map((b, i) => [b, 2 + i])) };
}

/** BPE ids → the model's `text` input (compact ids, padded with PAD to `vocab.length`). */
export function captionIds(vocab: CaptionVocab, bpe: readonly number[]): Int32Array {
  const out = new Int32Array(vocab.length);
  const n = Math.min(bpe.length, vocab.length);
  for (let i = 0; i < n; i++) out[i] = vocab.compact.get(bpe[i] as number) ?? vocab.unk;
  return out;
}
