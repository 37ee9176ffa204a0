/**
 * A subset of the cells still open, as a bitmap over them: how a generation step names the cells
 * it committed. Both peers hold the same ordered list of open cells (the target cells minus those of
 * earlier steps, which arrive in order on the reliable control channel), so a step needs one bit
 * per open cell instead of one per grid cell: for an 8x8 inpainting hole in 8 steps, 47 bytes in all
 * instead of 8 × 32.
 *
 * Format: ceil(open.length / 8) bytes, bit i (bit i & 7 of byte i >> 3, least significant first)
 * = open[i] is in the subset; unused bits of the last byte are 0, so each subset has one encoding.
 */
import { ErrorCode, ProtocolError } from '../errors.ts';

/** The bitmap of `chosen` (cells that must all be in `open`, no repeats) over `open`. */
export function subsetMask(open: ArrayLike<number>, chosen: ArrayLike<number>): Uint8Array {
  const index = new Map<number, number>();
  for (let i = 0; i < open.length; i++) index.set(open[i] as number, i);
  const mask = new Uint8Array((open.length + 7) >> 3);
  for (let k = 0; k < chosen.length; k++) {
    const i = index.get(chosen[k] as number);
    if (i === undefined) throw new ProtocolError(ErrorCode.InvalidArgument, `cell ${String(chosen[k])} is not open`);
    const bit = 1 << (i & 7);
    if (((mask[i >> 3] as number) & bit) !== 0) throw new ProtocolError(ErrorCode.InvalidArgument, `cell ${String(chosen[k])} listed twice`);
    mask[i >> 3] = (mask[i >> 3] as number) | bit;
  }
  return mask;
}

/**
 * The cells a bitmap selects from `open`, in `open`'s order. Off the wire, so ERR_MALFORMED for a
 * bitmap of the wrong length, with bits set past the last open cell, or selecting nothing.
 */
export function subsetFromMask(open: ArrayLike<number>, mask: Uint8Array): Uint16Array {
  const n = open.length;
  if (mask.length !== (n + 7) >> 3) throw new ProtocolError(ErrorCode.Malformed, `a subset of ${n} open cells needs ${(n + 7) >> 3} bytes, got ${mask.length}`);
  if ((n & 7) !== 0 && (mask[mask.length - 1] as number) >> (n & 7) !== 0) throw new ProtocolError(ErrorCode.Malformed, 'subset has bits set past the last open cell');
  const out: number[] = [];
  for (let i = 0; i < n; i++) if ((((mask[i >> 3] as number) >> (i & 7)) & 1) === 1) out.push(open[i] as number);
  if (out.length === 0) throw new ProtocolError(ErrorCode.Malformed, 'subset selects no cell');
  return Uint16Array.from(out);
}
