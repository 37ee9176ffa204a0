import { RangeDecoder, RangeEncoder } from '../coding/range-coder.ts';
import type { FrequencyTable } from '../coding/frequency-table.ts';
import type { TokenPlanes } from '../coding/token-planes.ts';
import { ErrorCode, ProtocolError } from '../errors.ts';
import { decodeChunk, encodeChunk, DEFAULT_CHUNK_PAYLOAD_BYTES, type ChunkHeader, type ChunkLimits } from '../wire/chunk-header.ts';
import { chunkChecksum } from '../wire/chunk-checksum.ts';

/*
 * One progressive stage → self-contained chunks, and back.
 *
 * Every chunk is its own range-coder stream, so it decodes given only the tokens of earlier stages
 * (which fix the tables) and a lost chunk loses only its own tokens. Where a chunk's tokens sit in
 * the stage follows from its header alone, because the sender cuts a stage into chunks of one size
 * T (only the last may be shorter):
 *
 *   non-last chunk i:  offset = i · tokenCount              (tokenCount = T)
 *   last chunk:        offset = stageSize − tokenCount
 *
 * so any single chunk can be placed without its siblings.
 *
 * With a factorized model (TokenPlanes: a token coded as several symbols, e.g. its FSQ digits) the
 * payload holds the chunk's symbols plane by plane: every token's digit 0, then every token's
 * digit 1, … so a decoder asks its model once per plane (see StageChunkDecoder).
 */

/** Which stage of which message a set of chunks carries. */
export interface StageAddress {
  readonly stream: number;
  readonly message: number;
  readonly stage: number;
  /** Index of the entropy model in the session's model list. */
  readonly model: number;
}

export interface EncodeStageOptions extends StageAddress {
  /** The stage's token ids, in schedule order. */
  readonly tokens: ArrayLike<number>;
  /**
   * Table for plane `plane` of the stage's i-th token (plane is always 0 without `planes`). Called
   * in order, possibly more than once per index.
   */
  readonly tableAt: (indexInStage: number, plane: number) => FrequencyTable;
  /** How a token splits into symbols; default one plane, the token id itself. */
  readonly planes?: TokenPlanes;
  /** Payload budget per chunk (default 1,100 bytes: one SCTP DATA chunk). */
  readonly maxPayloadBytes?: number;
}

/** Codes one stage into wire-ready chunks (header + payload each), in order. */
export function encodeStage(options: EncodeStageOptions): Uint8Array[] {
  const { tokens, tableAt } = options;
  const symbolOf = symbolFn(options.planes);
  const planeCount = options.planes?.count ?? 1;
  const budget = options.maxPayloadBytes ?? DEFAULT_CHUNK_PAYLOAD_BYTES;
  const count = tokens.length;
  if (count === 0) throw new ProtocolError(ErrorCode.InvalidArgument, 'a stage needs at least one token');
  if (!Number.isInteger(budget) || budget < 16) {
    throw new ProtocolError(ErrorCode.InvalidArgument, `maxPayloadBytes must be an integer ≥ 16, got ${budget}`);
  }
  // First guess of the chunk count from the ideal code length, then grow it until every chunk
  // fits: the coder is within a few bytes of the ideal, so this rarely needs a second pass.
  let idealBits = 0;
  for (let k = 0; k < planeCount; k++) {
    for (let i = 0; i < count; i++) idealBits += symbolCost(tableAt(i, k), symbolOf(tokens[i] as number, k));
  }
  let chunks = Math.max(1, Math.ceil((idealBits / 8 + 8) / budget));
  for (;;) {
    const size = Math.ceil(count / chunks);
    const payloads = codeSlices(tokens, tableAt, symbolOf, planeCount, size, budget);
    if (payloads) return frame(options, payloads, size);
    if (size === 1) {
      throw new ProtocolError(ErrorCode.InvalidArgument, `a single token does not fit ${budget} payload bytes`);
    }
    chunks = Math.ceil(count / Math.max(1, Math.floor(size * 0.85)));
  }
}

type SymbolFn = (token: number, plane: number) => number;

function symbolFn(planes: TokenPlanes | undefined): SymbolFn {
  return planes ? (t, k) => planes.digit(t, k) : (t) => t;
}

function symbolCost(table: FrequencyTable, symbol: number): number {
  const freq = (table.cdf[symbol + 1] ?? 0) - (table.cdf[symbol] ?? 0);
  return freq > 0 ? table.precision - Math.log2(freq) : table.precision;
}

/** Codes slices of `size` tokens; null as soon as one exceeds the budget. */
function codeSlices(
  tokens: ArrayLike<number>,
  tableAt: (i: number, plane: number) => FrequencyTable,
  symbolOf: SymbolFn,
  planeCount: number,
  size: number,
  budget: number,
): Uint8Array[] | null {
  const payloads: Uint8Array[] = [];
  for (let start = 0; start < tokens.length; start += size) {
    const end = Math.min(tokens.length, start + size);
    const enc = new RangeEncoder(budget + 16);
    for (let k = 0; k < planeCount; k++) {
      for (let i = start; i < end; i++) {
        enc.encode(symbolOf(tokens[i] as number, k), tableAt(i, k));
        if (enc.bytesWritten > budget) return null;
      }
    }
    const payload = enc.finish();
    if (payload.length > budget) return null;
    payloads.push(payload);
  }
  return payloads;
}

function frame(options: EncodeStageOptions, payloads: Uint8Array[], size: number): Uint8Array[] {
  const { tokens } = options;
  return payloads.map((payload, chunkIndex) => {
    const start = chunkIndex * size;
    const end = Math.min(tokens.length, start + size);
    const slice = Array.prototype.slice.call(tokens, start, end) as number[];
    const placement = {
      version: 1,
      last: chunkIndex === payloads.length - 1,
      stage: options.stage,
      stream: options.stream,
      model: options.model,
      message: options.message,
      chunkIndex,
      tokenCount: end - start,
    };
    const header: ChunkHeader = { ...placement, checksum: chunkChecksum(placement, slice) };
    // Allow the header on top of the payload budget.
    return encodeChunk(header, payload, { maxChunkBytes: Math.max(1200, payload.length + 64) });
  });
}

export interface DecodedStageChunk {
  readonly header: ChunkHeader;
  /** Index in the stage of the chunk's first token. */
  readonly offset: number;
  /** The chunk's tokens, checksum-verified. */
  readonly tokens: Uint32Array;
}

/**
 * Where a chunk's tokens sit in a stage of `stageSize` tokens, from its header alone.
 * Throws ERR_MALFORMED when the header cannot describe a chunk of such a stage.
 */
export function chunkOffset(header: ChunkHeader, stageSize: number): number {
  const { chunkIndex: i, tokenCount: c, last } = header;
  const bad = (why: string) => new ProtocolError(ErrorCode.Malformed, `chunk ${i} of stage ${header.stage} (${c} tokens, stage of ${stageSize}): ${why}`);
  if (c < 1 || c > stageSize) throw bad('token count out of range');
  if (!last) {
    const offset = i * c;
    // A non-last chunk must leave room for at least the last one.
    if (offset + c >= stageSize) throw bad('a non-last chunk reaches the end of the stage');
    return offset;
  }
  const offset = stageSize - c;
  if (i === 0) {
    if (offset !== 0) throw bad('a single chunk must carry the whole stage');
    return 0;
  }
  // The i chunks before it all have size T = offset / i, and the last is no longer than T.
  if (offset % i !== 0 || c > offset / i) throw bad('inconsistent with equal-size chunks');
  return offset;
}

/**
 * Decodes one chunk of a stage of `stageSize` tokens. `tableAt(k)` gives the table of the stage's
 * k-th token (k counts from the start of the stage, not of the chunk). Throws ProtocolError:
 * header errors from decodeChunk, ERR_MALFORMED for impossible placement or trailing bytes,
 * ERR_CORRUPT_STREAM from the range decoder, ERR_CHECKSUM when the tokens fail the CRC.
 */
export function decodeStageChunk(
  bytes: Uint8Array,
  stageSize: number,
  tableAt: (indexInStage: number) => FrequencyTable,
  limits?: Partial<ChunkLimits>,
): DecodedStageChunk {
  const dec = new StageChunkDecoder(bytes, stageSize, undefined, limits);
  dec.decodePlane(tableAt);
  return dec.finish();
}

/**
 * Decodes one chunk plane by plane, for models whose table of plane k depends on the planes
 * before it (the caller runs its model between planes). Call `decodePlane` once per plane, in
 * order, then `finish`. Errors as decodeStageChunk; the constructor checks the header and the
 * placement before any model work is spent on the chunk.
 */
export class StageChunkDecoder {
  readonly header: ChunkHeader;
  /** Index in the stage of the chunk's first token. */
  readonly offset: number;
  /** digits[k·count + j]: plane k of the chunk's j-th token, once plane k is decoded. */
  readonly digits: Uint32Array;
  private readonly planes: TokenPlanes | undefined;
  private readonly decoder: RangeDecoder;
  private nextPlane = 0;

  constructor(bytes: Uint8Array, stageSize: number, planes?: TokenPlanes, limits?: Partial<ChunkLimits>) {
    const { header, payload } = decodeChunk(bytes, limits);
    this.header = header;
    this.offset = chunkOffset(header, stageSize);
    this.planes = planes;
    this.digits = new Uint32Array(header.tokenCount * (planes?.count ?? 1));
    this.decoder = new RangeDecoder(payload);
  }

  get count(): number {
    return this.header.tokenCount;
  }

  /** Planes decoded so far. */
  get planesDone(): number {
    return this.nextPlane;
  }

  /** Decodes the next plane; `tableAt(k)` is that plane's table for the stage's k-th token. */
  decodePlane(tableAt: (indexInStage: number) => FrequencyTable): Uint32Array {
    const total = this.planes?.count ?? 1;
    if (this.nextPlane >= total) throw new ProtocolError(ErrorCode.InvalidArgument, `all ${total} planes already decoded`);
    const n = this.count;
    const out = this.digits.subarray(this.nextPlane * n, (this.nextPlane + 1) * n);
    for (let j = 0; j < n; j++) out[j] = this.decoder.decode(tableAt(this.offset + j));
    this.nextPlane++;
    return out;
  }

  /** Joins the planes into tokens, checks that the payload is used up and the CRC matches. */
  finish(): DecodedStageChunk {
    const { header } = this;
    const total = this.planes?.count ?? 1;
    if (this.nextPlane !== total) {
      throw new ProtocolError(ErrorCode.InvalidArgument, `${this.nextPlane} of ${total} planes decoded`);
    }
    this.decoder.finish();
    const n = this.count;
    const tokens = this.planes ? new Uint32Array(n) : this.digits;
    if (this.planes) for (let j = 0; j < n; j++) tokens[j] = this.planes.join(this.digits, j, n);
    const sum = chunkChecksum(header, tokens);
    if (sum !== header.checksum) {
      throw new ProtocolError(
        ErrorCode.ChecksumMismatch,
        `stage ${header.stage} chunk ${header.chunkIndex}: tokens hash to ${hex(sum)}, header says ${hex(header.checksum)}`,
      );
    }
    return { header, offset: this.offset, tokens };
  }
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}
