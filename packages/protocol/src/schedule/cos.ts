/**
 * Deterministic cosine using only + - * / (each correctly rounded under IEEE 754), so every
 * engine returns the same bits. `Math.cos` is not usable for protocol decisions: ECMAScript
 * leaves its precision implementation-defined and engines do differ in the last ulp, which
 * would shift a stage boundary by one cell on one peer and not the other.
 */
import { ErrorCode, ProtocolError } from '../errors.ts';

/** pi/2 split in two (fdlibm's PIO2_1 / PIO2_1T): the high part has 33 significant bits,
 *  so k * PIO2_HI is exact for |k| < 2^20 and the reduction keeps ~85 bits of pi. */
const PIO2_HI = 1.5707963267341256;
const PIO2_LO = 6.077100506506192e-11;
const TWO_OVER_PI = 0.6366197723675814;

/** Above this the two-part reduction is no longer exact; results stay deterministic but
 *  lose accuracy, and schedules never get near it (their arguments are in [0, pi/2]). */
const MAX_ACCURATE_ARG = 1e6;

// Taylor coefficients 1/n!. Divisions of exact integers are correctly rounded, hence the same
// double everywhere.
const C2 = -1 / 2;
const C4 = 1 / 24;
const C6 = -1 / 720;
const C8 = 1 / 40320;
const C10 = -1 / 3628800;
const C12 = 1 / 479001600;
const C14 = -1 / 87178291200;
const C16 = 1 / 20922789888000;
const C18 = -1 / 6402373705728000;

const S3 = -1 / 6;
const S5 = 1 / 120;
const S7 = -1 / 5040;
const S9 = 1 / 362880;
const S11 = -1 / 39916800;
const S13 = 1 / 6227020800;
const S15 = -1 / 1307674368000;
const S17 = 1 / 355687428096000;

// On |r| <= pi/4 the first omitted terms (r^20/20!, r^19/19!) are below 1e-20, far under
// one ulp of the result; the error is the Horner rounding (~1-2 ulp).
function cosKernel(r: number): number {
  const z = r * r;
  return (
    1 +
    z * (C2 + z * (C4 + z * (C6 + z * (C8 + z * (C10 + z * (C12 + z * (C14 + z * (C16 + z * C18))))))))
  );
}

function sinKernel(r: number): number {
  const z = r * r;
  return r + r * z * (S3 + z * (S5 + z * (S7 + z * (S9 + z * (S11 + z * (S13 + z * (S15 + z * S17)))))));
}

/**
 * cos(x) for finite x, bit-identical across engines. Accuracy: a few ulp for
 * |x| <= 1e6 (tests bound the error against Math.cos by 1e-15 on [0, pi/2]).
 */
export function deterministicCos(x: number): number {
  if (!Number.isFinite(x)) {
    throw new ProtocolError(ErrorCode.InvalidArgument, `deterministicCos needs a finite number, got ${x}`);
  }
  if (Math.abs(x) > MAX_ACCURATE_ARG) {
    throw new ProtocolError(
      ErrorCode.InvalidArgument,
      `deterministicCos argument ${x} is outside the accurate range |x| <= ${MAX_ACCURATE_ARG}`,
    );
  }
  // Reduce to r in [-pi/4, pi/4] with x = k*pi/2 + r; the quadrant picks the kernel and sign.
  const k = Math.round(x * TWO_OVER_PI);
  const r = x - k * PIO2_HI - k * PIO2_LO;
  const quadrant = ((k % 4) + 4) % 4;
  switch (quadrant) {
    case 0:
      return cosKernel(r);
    case 1:
      return -sinKernel(r);
    case 2:
      return -cosKernel(r);
    default:
      return sinKernel(r);
  }
}
