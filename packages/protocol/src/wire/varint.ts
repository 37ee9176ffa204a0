/**
 * Unsigned LEB128 varints restricted to uint32 (values 0 .. 2^32-1, at most 5 bytes).
 *
 * Seven value bits per byte, least significant group first; bit 7 set means "more bytes
 * follow". Decoding is strict: every value has exactly one accepted encoding, so a header
 * cannot be re-encoded into a different byte string that still parses (no malleability), and
 * a reader never loops past 5 bytes.
 */
import { ErrorCode, ProtocolError } from '../errors.ts';

/** Longest encoding of a uint32: ceil(32 / 7). */
export const MAX_VARINT_BYTES = 5;

/** Largest encodable value. */
export const MAX_VARINT_VALUE = 0xffff_ffff;

const CONTINUATION = 0x80;
const VALUE_MASK = 0x7f;
/** The 5th byte carries only bits 28..31 of the value. */
const LAST_BYTE_MAX = 0x0f;

export interface VarintRead {
  /** Decoded value, 0 .. 2^32-1. */
  readonly value: number;
  /** Offset of the first byte after the varint. */
  readonly offset: number;
}

function assertUint32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_VARINT_VALUE) {
    throw new ProtocolError(ErrorCode.InvalidArgument, `${what} must be a uint32, got ${value}`);
  }
}

/** Number of bytes `writeVarint` uses for `value`. */
export function varintLength(value: number): number {
  assertUint32(value, 'varint value');
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  return 5;
}

/**
 * Writes `value` at `offset` and returns the offset after it. Throws ERR_INVALID_ARGUMENT
 * (having written nothing) when the value is not a uint32 or does not fit in `buf`.
 */
export function writeVarint(buf: Uint8Array, offset: number, value: number): number {
  const len = varintLength(value);
  if (!Number.isInteger(offset) || offset < 0 || offset + len > buf.length) {
    throw new ProtocolError(
      ErrorCode.InvalidArgument,
      `varint needs ${len} bytes at offset ${offset}, buffer has ${buf.length}`,
    );
  }
  let v = value;
  let i = offset;
  // Division, not >>>, for the shifts: `value` may exceed 2^31 and must stay unsigned.
  while (v >= CONTINUATION) {
    buf[i++] = (v & VALUE_MASK) | CONTINUATION;
    v = Math.floor(v / 128);
  }
  buf[i++] = v;
  return i;
}

/**
 * Reads a varint at `offset`.
 * - ERR_TRUNCATED: the input ends while the continuation bit is still set.
 * - ERR_MALFORMED: a non-minimal encoding (a trailing zero group, e.g. `80 00`), a 5th byte
 *   with the continuation bit set, or a value ≥ 2^32.
 */
export function readVarint(buf: Uint8Array, offset: number): VarintRead {
  let value = 0;
  let scale = 1; // 128^i, kept as a float so bit 31 never turns the sum negative
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const pos = offset + i;
    const byte = buf[pos];
    if (byte === undefined) {
      throw new ProtocolError(
        ErrorCode.Truncated,
        `varint at offset ${offset} ends after ${i} byte(s), input has ${buf.length}`,
      );
    }
    const group = byte & VALUE_MASK;
    if (i === MAX_VARINT_BYTES - 1 && byte > LAST_BYTE_MAX) {
      throw new ProtocolError(
        ErrorCode.Malformed,
        `varint at offset ${offset} exceeds 2^32-1 or is longer than ${MAX_VARINT_BYTES} bytes`,
      );
    }
    value += group * scale;
    if ((byte & CONTINUATION) === 0) {
      // A zero final group after the first byte adds nothing: the value had a shorter form.
      if (group === 0 && i > 0) {
        throw new ProtocolError(
          ErrorCode.Malformed,
          `varint at offset ${offset} is not minimally encoded`,
        );
      }
      return { value, offset: pos + 1 };
    }
    scale *= 128;
  }
  // Unreachable: the 5th byte either terminates or fails the LAST_BYTE_MAX check above.
  throw new ProtocolError(ErrorCode.Malformed, `varint at offset ${offset} is too long`);
}
