export { BPE_NAME, BPE_VOCAB_SIZE, bpeEncode, bpeDecode } from './bpe.ts';
export {
  BROTLI_QUALITY,
  BROTLI_LGWIN,
  DEFAULT_MAX_TEXT_BYTES,
  createTextCodec,
  installBrotli,
  compressText,
  decompressText,
} from './brotli.ts';
export type {
  BrotliImpl,
  BrotliResultLike,
  DecompressStreamLike,
  DecompressOptions,
  TextCodec,
} from './brotli.ts';
export { ensureBrotli, loadBrotli } from './brotli-load.ts';
// brotli-node.ts is deliberately not re-exported: it imports node:module.
