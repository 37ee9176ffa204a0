/**
 * GPT-2 BPE (tiktoken's `r50k_base`, 50257 ids) via gpt-tokenizer's per-encoding ESM entry,
 * which loads only this vocabulary and has no Node-only imports, so it bundles for browsers.
 */
import { decode, encode, vocabularySize } from 'gpt-tokenizer/encoding/r50k_base';
import { ErrorCode, ProtocolError } from '../errors.ts';

export const BPE_NAME = 'gpt2-r50k';
/** 50256 mergeable ranks + `<|endoftext|>` (id 50256). */
export const BPE_VOCAB_SIZE = 50257;

if (vocabularySize !== BPE_VOCAB_SIZE) {
  // A different package build would silently change every id on the wire: refuse to start.
  throw new Error(`gpt-tokenizer r50k_base has ${vocabularySize} ids, expected ${BPE_VOCAB_SIZE}`);
}

// Special-token text in user input is encoded as ordinary text: a prompt containing the
// characters "<|endoftext|>" must neither throw (the library default) nor inject a control id.
const PLAIN_TEXT = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

export function bpeEncode(text: string): Uint32Array {
  if (typeof text !== 'string') {
    throw new ProtocolError(ErrorCode.InvalidArgument, 'bpeEncode needs a string');
  }
  return Uint32Array.from(encode(text, PLAIN_TEXT));
}

/**
 * Ids -> text. Ids outside 0..50256 (or non-integers) are ERR_INVALID_ARGUMENT: they are
 * checked first, since the library would throw a plain Error. Id 50256 decodes to the
 * literal "<|endoftext|>". A sequence that ends inside a multi-byte character decodes that
 * fragment to U+FFFD (the library's non-fatal UTF-8 decoding).
 */
export function bpeDecode(ids: ArrayLike<number>): string {
  if (typeof ids !== 'object' || ids === null || typeof ids.length !== 'number') {
    throw new ProtocolError(ErrorCode.InvalidArgument, 'bpeDecode needs an array of ids');
  }
  const list: number[] = new Array<number>(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= BPE_VOCAB_SIZE) {
      throw new ProtocolError(
        ErrorCode.InvalidArgument,
        `BPE id ${String(id)} at index ${i} is outside 0..${BPE_VOCAB_SIZE - 1}`,
      );
    }
    list[i] = id;
  }
  return decode(list);
}
