import { ErrorCode, ProtocolError } from './deps.ts';

/*
 * The cloud model's compact text vocabulary (`cloud.text.vocab`, written by training/cloud_data.py):
 * the GPT-2 BPE ids of its training text, so its embedding stays small. 0 = PAD, 1 = UNK (a BPE id
 * not in the list), 2 = EOS (end of an answer), 3 = ANS (first input of the answer slot), and
 * `first + i` = the i-th listed BPE id. Prompts and questions are cut or padded to `textLength` ids.
 */

export interface CloudVocab {
  readonly pad: number;
  readonly unk: number;
  readonly eos: number;
  readonly ans: number;
  /** Compact ids of the vocabulary (the width of the answer logits). */
  readonly size: number;
  readonly textLength: number;
  readonly answerLength: number;
  /** BPE id → compact id. */
  readonly compact: ReadonlyMap<number, number>;
  /** Compact id → BPE id (−1 for the special ids). */
  readonly bpe: Int32Array;
}

const MAX_IDS = 1 << 20;

export function parseCloudVocab(bytes: Uint8Array): CloudVocab {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
  } catch (err) {
    throw new ProtocolError(ErrorCode.Malformed, `cloud vocabulary: ${(err as Error).message}`);
  }
  const ids = v.bpe_ids;
  const small = (x: unknown, lo: number, hi: number) => Number.isInteger(x) && (x as number) >= lo && (x as number) <= hi;
  if (v.pad !== 0 || v.unk !== 1 || v.eos !== 2 || v.ans !== 3 || v.first !== 4) {
    throw new ProtocolError(ErrorCode.InvalidField, 'cloud vocabulary: need pad 0, unk 1, eos 2, ans 3, first 4');
  }
  if (!Array.isArray(ids) || ids.length > MAX_IDS || !ids.every((x) => small(x, 0, MAX_IDS))) {
    throw new ProtocolError(ErrorCode.InvalidField, 'cloud vocabulary: bpe_ids must be a list of BPE ids');
  }
  if (v.size !== 4 + ids.length) throw new ProtocolError(ErrorCode.InvalidField, `cloud vocabulary: size ${String(v.size)} is not 4 + ${ids.length} ids`);
  if (!small(v.text_len, 1, 4096) || !small(v.answer_len, 2, 4096)) throw new ProtocolError(ErrorCode.InvalidField, 'cloud vocabulary: text_len / answer_len');
  const bpe = new Int32Array(4 + ids.length).fill(-1);
  const compact = new Map<number, number>();
  (ids as number[]).forEach((b, i) => {
    bpe[4 + i] = b;
    compact.set(b, 4 + i);
  });
  if (compact.size !== ids.length) throw new ProtocolError(ErrorCode.InvalidField, 'cloud vocabulary: repeated BPE ids');
  return { pad: 0, unk: 1, eos: 2, ans: 3, size: bpe.length, textLength: v.text_len as number, answerLength: v.answer_len as number, compact, bpe };
}

/** BPE ids → the model's `text` input: compact ids, cut or padded (PAD) to the text length. */
export function cloudTextIds(vocab: CloudVocab, bpe: readonly number[]): Int32Array {
  const out = new Int32Array(vocab.textLength).fill(vocab.pad);
  const n = Math.min(bpe.length, vocab.textLength);
  for (let i = 0; i < n; i++) out[i] = vocab.compact.get(bpe[i] as number) ?? vocab.unk;
  return out;
}
