/**
 * Text payloads: UTF-8, then Brotli (quality 11, window 2^22).
 *
 * Encoding uses brotli-wasm in every environment, never Node's zlib: Brotli output is not
 * canonical, and zlib's C encoder (a different version) emits different bytes, which would
 * break byte-exact tests and any hash of a payload. Any conforming decoder reads our bytes.
 *
 * This module is pure: it works on an injected brotli-wasm instance (see installBrotli and
 * loadBrotli in brotli-load.ts), so browser bundles never touch Node APIs.
 */
import { ErrorCode, ProtocolError } from '../errors.ts';

/** Highest Brotli quality: payloads are short prompts/answers, so encoder time is negligible. */
export const BROTLI_QUALITY = 11;
/**
 * Window bits. brotli-wasm exposes only `quality`; its Rust encoder uses the library default
 * lgwin 22 (a 4 MiB window), which the stream header records and tests pin. Text payloads
 * are far below 4 MiB, so a smaller window would not change the output size.
 */
export const BROTLI_LGWIN = 22;
/** Default cap on decompressed bytes: a compression bomb stops here. */
export const DEFAULT_MAX_TEXT_BYTES = 65536;
/** Decompressed bytes requested per DecompressStream call. */
const OUTPUT_CHUNK = 16384;

/** The subset of brotli-wasm (node, web and bundler builds alike) this module uses. */
export interface BrotliResultLike {
  readonly buf: Uint8Array;
  readonly code: number;
  readonly input_offset: number;
  free(): void;
}
export interface DecompressStreamLike {
  decompress(input: Uint8Array, outputSize: number): BrotliResultLike;
  free(): void;
}
export interface BrotliImpl {
  compress(buf: Uint8Array, options?: { quality?: number }): Uint8Array;
  DecompressStream: new () => DecompressStreamLike;
}

/** brotli-wasm's BrotliStreamResultCode values. */
const RESULT_SUCCESS = 1;
const NEEDS_MORE_INPUT = 2;
const NEEDS_MORE_OUTPUT = 3;

export interface DecompressOptions {
  /** Largest accepted decompressed size in bytes (UTF-8); default 65536. */
  readonly maxBytes?: number;
}

export interface TextCodec {
  compressText(text: string): Uint8Array;
  decompressText(bytes: Uint8Array, options?: DecompressOptions): string;
}

const encoder = new TextEncoder();
// fatal: invalid UTF-8 must be an error, not U+FFFD. ignoreBOM: keep a leading U+FEFF so
// every string round-trips exactly.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Lone surrogates cannot be encoded as UTF-8 (TextEncoder would replace them with U+FFFD). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Codec bound to one brotli-wasm instance. */
export function createTextCodec(brotli: BrotliImpl): TextCodec {
  function compressText(text: string): Uint8Array {
    if (typeof text !== 'string') {
      throw new ProtocolError(ErrorCode.InvalidArgument, 'compressText needs a string');
    }
    if (LONE_SURROGATE.test(text)) {
      throw new ProtocolError(ErrorCode.InvalidArgument, 'text contains a lone surrogate (not valid Unicode)');
    }
    return brotli.compress(encoder.encode(text), { quality: BROTLI_QUALITY });
  }

  function decompressText(bytes: Uint8Array, options: DecompressOptions = {}): string {
    if (!(bytes instanceof Uint8Array)) {
      throw new ProtocolError(ErrorCode.InvalidArgument, 'decompressText needs a Uint8Array');
    }
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_TEXT_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new ProtocolError(ErrorCode.InvalidArgument, `maxBytes must be a non-negative integer, got ${maxBytes}`);
    }
    const raw = inflate(bytes, maxBytes);
    try {
      return decoder.decode(raw);
    } catch {
      throw new ProtocolError(ErrorCode.Malformed, 'decompressed text is not valid UTF-8');
    }
  }

  /**
   * Streams the decompression in bounded chunks, asking for at most maxBytes + 1 bytes in
   * total, so a bomb is stopped after producing one byte too many instead of after
   * allocating its full output.
   */
  function inflate(bytes: Uint8Array, maxBytes: number): Uint8Array {
    const stream = new brotli.DecompressStream();
    const chunks: Uint8Array[] = [];
    let total = 0;
    let offset = 0;
    let stalls = 0;
    try {
      for (;;) {
        const want = Math.min(OUTPUT_CHUNK, maxBytes + 1 - total);
        let result: BrotliResultLike;
        try {
          result = stream.decompress(bytes.subarray(offset), want);
        } catch (err) {
          // brotli-wasm reports corrupt streams (and wasm traps) as plain Errors.
          throw new ProtocolError(ErrorCode.Malformed, `corrupt Brotli stream: ${String(err)}`);
        }
        const { buf, code, input_offset: consumed } = result;
        result.free();
        offset += consumed;
        total += buf.length;
        if (total > maxBytes) {
          throw new ProtocolError(ErrorCode.Oversized, `decompressed text exceeds ${maxBytes} bytes`);
        }
        if (buf.length > 0) chunks.push(buf);
        if (code === RESULT_SUCCESS) {
          if (offset !== bytes.length) {
            throw new ProtocolError(
              ErrorCode.Malformed,
              `${bytes.length - offset} trailing bytes after the end of the Brotli stream`,
            );
          }
          return concat(chunks, total);
        }
        if (code === NEEDS_MORE_INPUT) {
          // The payload is a complete, reassembled message, so running out of input here
          // means the stream is cut short: that is corrupt data, not "wait for more".
          throw new ProtocolError(ErrorCode.Malformed, 'Brotli stream is truncated');
        }
        if (code !== NEEDS_MORE_OUTPUT) {
          throw new ProtocolError(ErrorCode.Malformed, `unexpected Brotli result code ${code}`);
        }
        // Defensive: a decoder that neither consumes nor produces would loop forever.
        stalls = consumed === 0 && buf.length === 0 ? stalls + 1 : 0;
        if (stalls > 4) throw new ProtocolError(ErrorCode.Malformed, 'Brotli decoder made no progress');
      }
    } finally {
      stream.free();
    }
  }

  return { compressText, decompressText };
}

let installed: TextCodec | undefined;

/** Makes `brotli` the instance behind compressText / decompressText. */
export function installBrotli(brotli: BrotliImpl): TextCodec {
  installed = createTextCodec(brotli);
  return installed;
}

function codec(): TextCodec {
  if (installed === undefined) {
    throw new ProtocolError(ErrorCode.InvalidArgument, 'Brotli is not loaded: await loadBrotli() (or installBrotli) first');
  }
  return installed;
}

/** UTF-8 + Brotli (quality 11). Needs ensureBrotli() (or loadBrotli() / installBrotli()) first. */
export function compressText(text: string): Uint8Array {
  return codec().compressText(text);
}

/**
 * Inverse of compressText. ERR_OVERSIZED once the output passes maxBytes (default 65536),
 * ERR_MALFORMED for corrupt, truncated or trailing-garbage streams and for invalid UTF-8.
 */
export function decompressText(bytes: Uint8Array, options?: DecompressOptions): string {
  return codec().decompressText(bytes, options);
}
