/**
 * Token chunk: the binary message that carries one range-coded slice of a stage's tokens.
 *
 * Version 1 layout (RFC bit numbering: bit 0 is the most significant bit of byte 0):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Ver|L|  Stage  |Strm |Model|Chk|  message (varint, 1-5 bytes)  :
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   :  tokenCount (varint, 1-5 bytes)                               :
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   :  stageExt (varint, 1-5 bytes), present only if Stage = 31     :
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   :  chunkExt (varint, 1-5 bytes), present only if Chk = 3        :
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |    CRC-32C of the decoded token ids (4 bytes, little-endian)  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   :  payload: range-coded token bytes, to the end of the message  :
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   Ver    (2 bits)  protocol version, 1.
 *   L      (1 bit)   last chunk of this stage.
 *   Stage  (5 bits)  0..30; 31 escapes to stageExt (≥ 31).
 *   Strm   (3 bits)  stream id 0..7.
 *   Model  (3 bits)  index into the session's model list, 0..7.
 *   Chk    (2 bits)  chunk index 0..2; 3 escapes to chunkExt (≥ 3).
 *
 * A typical chunk (stage < 31, chunk < 3, message < 128, tokenCount < 128) has an 8-byte
 * header. The payload length is implicit: a data-channel message preserves boundaries, so
 * spending bytes on a length field would only add a way for the two to disagree.
 */
import { ErrorCode, ProtocolError } from '../errors.ts';
import { readVarint, varintLength, writeVarint } from './varint.ts';

export const CHUNK_VERSION = 1;

/**
 * Default payload budget: 1100 payload bytes plus at most CHUNK_MAX_HEADER_BYTES stays under
 * the 1200-byte default maxChunkBytes, which fits one SCTP DATA chunk in the ~1200-byte
 * packets WebRTC stacks send. A chunk is then never split across packets, so one lost
 * packet costs exactly one chunk's tokens.
 */
export const DEFAULT_CHUNK_PAYLOAD_BYTES = 1100;

/** Byte 0 and byte 1. */
export const CHUNK_FIXED_BYTES = 2;
/** CRC-32C field. */
export const CHUNK_CHECKSUM_BYTES = 4;
/** Smallest header: fixed bytes, two 1-byte varints, checksum. */
export const CHUNK_MIN_HEADER_BYTES = CHUNK_FIXED_BYTES + 1 + 1 + CHUNK_CHECKSUM_BYTES;
/** Largest header: fixed bytes, four 5-byte varints, checksum. */
export const CHUNK_MAX_HEADER_BYTES = CHUNK_FIXED_BYTES + 4 * 5 + CHUNK_CHECKSUM_BYTES;

/** Stage values at or above this are carried in stageExt. */
export const STAGE_ESCAPE = 31;
/** Chunk indexes at or above this are carried in chunkExt. */
export const CHUNK_INDEX_ESCAPE = 3;
export const MAX_STREAM = 7;
export const MAX_MODEL = 7;

const VERSION_SHIFT = 6;
const LAST_BIT = 0x20;
const STAGE_MASK = 0x1f;
const STREAM_SHIFT = 5;
const MODEL_SHIFT = 2;
const MODEL_MASK = 0x07;
const CHUNK_INDEX_MASK = 0x03;
const UINT32_MAX = 0xffff_ffff;

export interface ChunkHeader {
  /** Wire version; always CHUNK_VERSION for chunks this module produces or accepts. */
  readonly version: number;
  /** Last chunk of this stage: the receiver knows the stage is complete once all arrived. */
  readonly last: boolean;
  readonly stage: number;
  readonly stream: number;
  readonly model: number;
  /** Per-stream message sequence number, uint32. */
  readonly message: number;
  readonly chunkIndex: number;
  /** Tokens the payload decodes to, ≥ 1. */
  readonly tokenCount: number;
  /** tokenChecksum() of the decoded token ids, uint32. */
  readonly checksum: number;
}

export interface DecodedChunk {
  readonly header: ChunkHeader;
  /** Zero-copy view into the input; copy it if the input buffer is reused. */
  readonly payload: Uint8Array;
}

/**
 * Limits enforced on decode (bad input → ProtocolError) and on encode (out-of-range
 * arguments → ERR_INVALID_ARGUMENT). On by default; widen them explicitly if needed.
 */
export interface ChunkLimits {
  /** Whole message, header + payload. */
  readonly maxChunkBytes: number;
  readonly maxTokensPerChunk: number;
  readonly maxStage: number;
  readonly maxChunkIndex: number;
}

export const DEFAULT_CHUNK_LIMITS: Readonly<ChunkLimits> = Object.freeze({
  maxChunkBytes: 1200,
  maxTokensPerChunk: 65536,
  maxStage: 255,
  maxChunkIndex: 4096,
});

function isUint32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX;
}

function resolveLimits(limits: Partial<ChunkLimits> | undefined): ChunkLimits {
  if (limits === undefined) return DEFAULT_CHUNK_LIMITS;
  const merged: ChunkLimits = { ...DEFAULT_CHUNK_LIMITS, ...limits };
  for (const key of ['maxChunkBytes', 'maxTokensPerChunk', 'maxStage', 'maxChunkIndex'] as const) {
    if (!isUint32(merged[key])) {
      throw new ProtocolError(
        ErrorCode.InvalidArgument,
        `chunk limit ${key} must be a uint32, got ${String(merged[key])}`,
      );
    }
  }
  return merged;
}

function invalid(field: string, value: unknown, range: string): ProtocolError {
  return new ProtocolError(
    ErrorCode.InvalidArgument,
    `chunk header ${field} must be ${range}, got ${String(value)}`,
  );
}

/** Encoder-side check: every field in range, so nothing is silently masked or truncated. */
function assertHeader(h: ChunkHeader, limits: ChunkLimits): void {
  if (h.version !== CHUNK_VERSION) throw invalid('version', h.version, `${CHUNK_VERSION}`);
  if (typeof h.last !== 'boolean') throw invalid('last', h.last, 'a boolean');
  if (!isUint32(h.stage) || h.stage > limits.maxStage) {
    throw invalid('stage', h.stage, `an integer in 0..${limits.maxStage}`);
  }
  if (!isUint32(h.stream) || h.stream > MAX_STREAM) {
    throw invalid('stream', h.stream, `an integer in 0..${MAX_STREAM}`);
  }
  if (!isUint32(h.model) || h.model > MAX_MODEL) {
    throw invalid('model', h.model, `an integer in 0..${MAX_MODEL}`);
  }
  if (!isUint32(h.message)) throw invalid('message', h.message, 'a uint32');
  if (!isUint32(h.chunkIndex) || h.chunkIndex > limits.maxChunkIndex) {
    throw invalid('chunkIndex', h.chunkIndex, `an integer in 0..${limits.maxChunkIndex}`);
  }
  if (!isUint32(h.tokenCount) || h.tokenCount < 1 || h.tokenCount > limits.maxTokensPerChunk) {
    throw invalid('tokenCount', h.tokenCount, `an integer in 1..${limits.maxTokensPerChunk}`);
  }
  if (!isUint32(h.checksum)) throw invalid('checksum', h.checksum, 'a uint32');
}

/** Header size in bytes for these field values (throws ERR_INVALID_ARGUMENT if not uint32). */
export function headerLength(header: ChunkHeader): number {
  let len =
    CHUNK_FIXED_BYTES +
    varintLength(header.message) +
    varintLength(header.tokenCount) +
    CHUNK_CHECKSUM_BYTES;
  if (header.stage >= STAGE_ESCAPE) len += varintLength(header.stage);
  if (header.chunkIndex >= CHUNK_INDEX_ESCAPE) len += varintLength(header.chunkIndex);
  return len;
}

/** Serialises header + payload into one freshly allocated message. */
export function encodeChunk(
  header: ChunkHeader,
  payload: Uint8Array,
  limits?: Partial<ChunkLimits>,
): Uint8Array {
  const lim = resolveLimits(limits);
  assertHeader(header, lim);
  if (!(payload instanceof Uint8Array)) {
    throw new ProtocolError(ErrorCode.InvalidArgument, 'chunk payload must be a Uint8Array');
  }
  const hlen = headerLength(header);
  const total = hlen + payload.length;
  if (total > lim.maxChunkBytes) {
    throw new ProtocolError(
      ErrorCode.InvalidArgument,
      `chunk of ${total} bytes (header ${hlen} + payload ${payload.length}) exceeds maxChunkBytes ${lim.maxChunkBytes}`,
    );
  }

  const out = new Uint8Array(total);
  const stageEscaped = header.stage >= STAGE_ESCAPE;
  const chunkEscaped = header.chunkIndex >= CHUNK_INDEX_ESCAPE;
  out[0] =
    (CHUNK_VERSION << VERSION_SHIFT) |
    (header.last ? LAST_BIT : 0) |
    (stageEscaped ? STAGE_ESCAPE : header.stage);
  out[1] =
    (header.stream << STREAM_SHIFT) |
    (header.model << MODEL_SHIFT) |
    (chunkEscaped ? CHUNK_INDEX_ESCAPE : header.chunkIndex);
  let off = CHUNK_FIXED_BYTES;
  off = writeVarint(out, off, header.message);
  off = writeVarint(out, off, header.tokenCount);
  if (stageEscaped) off = writeVarint(out, off, header.stage);
  if (chunkEscaped) off = writeVarint(out, off, header.chunkIndex);
  const crc = header.checksum;
  out[off++] = crc & 0xff;
  out[off++] = (crc >>> 8) & 0xff;
  out[off++] = (crc >>> 16) & 0xff;
  out[off++] = crc >>> 24;
  out.set(payload, off);
  return out;
}

/**
 * Parses a chunk. Every limit is checked as soon as its field is read, before anything
 * after it is touched, and nothing is sliced before its length has been checked.
 *
 * Errors: ERR_OVERSIZED (message, tokenCount, stage or chunk index over a limit),
 * ERR_TRUNCATED (header cut short), ERR_UNSUPPORTED_VERSION, ERR_MALFORMED (bad varint,
 * tokenCount 0, non-minimal escape value).
 */
export function decodeChunk(bytes: Uint8Array, limits?: Partial<ChunkLimits>): DecodedChunk {
  const lim = resolveLimits(limits);
  if (bytes.length > lim.maxChunkBytes) {
    throw new ProtocolError(
      ErrorCode.Oversized,
      `chunk of ${bytes.length} bytes exceeds maxChunkBytes ${lim.maxChunkBytes}`,
    );
  }

  const b0 = bytes[0];
  if (b0 === undefined) throw new ProtocolError(ErrorCode.Truncated, 'empty chunk');
  // Version first: a future version may lay out everything after byte 0 differently.
  const version = b0 >>> VERSION_SHIFT;
  if (version !== CHUNK_VERSION) {
    throw new ProtocolError(
      ErrorCode.UnsupportedVersion,
      `chunk version ${version}, this implementation speaks ${CHUNK_VERSION}`,
    );
  }
  const last = (b0 & LAST_BIT) !== 0;
  let stage = b0 & STAGE_MASK;
  if (stage < STAGE_ESCAPE && stage > lim.maxStage) {
    throw new ProtocolError(ErrorCode.Oversized, `stage ${stage} exceeds maxStage ${lim.maxStage}`);
  }

  const b1 = bytes[1];
  if (b1 === undefined) {
    throw new ProtocolError(ErrorCode.Truncated, `chunk of 1 byte, header needs at least ${CHUNK_MIN_HEADER_BYTES}`);
  }
  const stream = b1 >>> STREAM_SHIFT;
  const model = (b1 >>> MODEL_SHIFT) & MODEL_MASK;
  let chunkIndex = b1 & CHUNK_INDEX_MASK;
  if (chunkIndex < CHUNK_INDEX_ESCAPE && chunkIndex > lim.maxChunkIndex) {
    throw new ProtocolError(
      ErrorCode.Oversized,
      `chunk index ${chunkIndex} exceeds maxChunkIndex ${lim.maxChunkIndex}`,
    );
  }

  const msg = readVarint(bytes, CHUNK_FIXED_BYTES);
  const count = readVarint(bytes, msg.offset);
  if (count.value === 0) {
    throw new ProtocolError(ErrorCode.Malformed, 'tokenCount is 0: a chunk carries at least one token');
  }
  if (count.value > lim.maxTokensPerChunk) {
    throw new ProtocolError(
      ErrorCode.Oversized,
      `tokenCount ${count.value} exceeds maxTokensPerChunk ${lim.maxTokensPerChunk}`,
    );
  }
  let off = count.offset;

  if (stage === STAGE_ESCAPE) {
    const ext = readVarint(bytes, off);
    // A value < 31 fits in the 5-bit field: a second encoding would make headers malleable.
    if (ext.value < STAGE_ESCAPE) {
      throw new ProtocolError(
        ErrorCode.Malformed,
        `stageExt ${ext.value} is below ${STAGE_ESCAPE} and must use the short form`,
      );
    }
    if (ext.value > lim.maxStage) {
      throw new ProtocolError(ErrorCode.Oversized, `stage ${ext.value} exceeds maxStage ${lim.maxStage}`);
    }
    stage = ext.value;
    off = ext.offset;
  }

  if (chunkIndex === CHUNK_INDEX_ESCAPE) {
    const ext = readVarint(bytes, off);
    if (ext.value < CHUNK_INDEX_ESCAPE) {
      throw new ProtocolError(
        ErrorCode.Malformed,
        `chunkExt ${ext.value} is below ${CHUNK_INDEX_ESCAPE} and must use the short form`,
      );
    }
    if (ext.value > lim.maxChunkIndex) {
      throw new ProtocolError(
        ErrorCode.Oversized,
        `chunk index ${ext.value} exceeds maxChunkIndex ${lim.maxChunkIndex}`,
      );
    }
    chunkIndex = ext.value;
    off = ext.offset;
  }

  if (bytes.length - off < CHUNK_CHECKSUM_BYTES) {
    throw new ProtocolError(
      ErrorCode.Truncated,
      `checksum needs ${CHUNK_CHECKSUM_BYTES} bytes at offset ${off}, chunk has ${bytes.length}`,
    );
  }
  const checksum =
    ((bytes[off] ?? 0) |
      ((bytes[off + 1] ?? 0) << 8) |
      ((bytes[off + 2] ?? 0) << 16) |
      ((bytes[off + 3] ?? 0) << 24)) >>>
    0;
  off += CHUNK_CHECKSUM_BYTES;

  return {
    header: {
      version,
      last,
      stage,
      stream,
      model,
      message: msg.value,
      chunkIndex,
      tokenCount: count.value,
      checksum,
    },
    payload: bytes.subarray(off),
  };
}
