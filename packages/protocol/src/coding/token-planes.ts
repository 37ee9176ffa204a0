import { ErrorCode, ProtocolError } from '../errors.ts';

/**
 * How a token id is coded as one or more symbols ("planes"), each with its own table.
 *
 * A flat model gives one table over the whole codebook (one plane). A factorized model, such as the
 * default pack's entropy models that predict the five FSQ digits of a token one after another, gives
 * one small table per digit, the k-th conditioned on digits < k. Inside a chunk the symbols go plane
 * by plane (all first digits, then all second digits, …) so a decoder needs one model call per
 * plane, not one per token.
 */
export interface TokenPlanes {
  /** Symbols per token. */
  readonly count: number;
  /** Alphabet size of each plane; their product is the codebook size. */
  readonly sizes: readonly number[];
  /** The plane-th symbol of a token. */
  digit(token: number, plane: number): number;
  /** The token whose symbols are `digits[at + k·stride]` for k = 0..count-1. */
  join(digits: ArrayLike<number>, at: number, stride: number): number;
}

/**
 * Mixed radix, first digit most significant: token = ((d0·L1 + d1)·L2 + d2)… — the id layout of an
 * FSQ codebook with `levels` (8,8,8,4,4 for the default pack), and of a plain alphabet when
 * `levels` has one entry.
 */
export function mixedRadixPlanes(levels: readonly number[]): TokenPlanes {
  if (levels.length < 1 || levels.length > 32 || !levels.every((l) => Number.isInteger(l) && l >= 2 && l <= 1 << 24)) {
    throw new ProtocolError(ErrorCode.InvalidArgument, `plane sizes must be 1..32 integers in 2..2^24, got [${levels.join(', ')}]`);
  }
  const sizes = [...levels];
  const basis = new Array<number>(sizes.length);
  let acc = 1;
  for (let k = sizes.length - 1; k >= 0; k--) {
    basis[k] = acc;
    acc *= sizes[k] as number;
  }
  if (acc > 2 ** 31) throw new ProtocolError(ErrorCode.InvalidArgument, `codebook of ${acc} ids is too large`);
  return {
    count: sizes.length,
    sizes,
    digit(token, plane) {
      return Math.floor(token / (basis[plane] as number)) % (sizes[plane] as number);
    },
    join(digits, at, stride) {
      let t = 0;
      for (let k = 0; k < sizes.length; k++) t = t * (sizes[k] as number) + (digits[at + k * stride] as number);
      return t;
    },
  };
}

/** One plane: the token is its own symbol. */
export function singlePlane(alphabet: number): TokenPlanes {
  return mixedRadixPlanes([alphabet]);
}
