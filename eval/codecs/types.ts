/** 8-bit RGB, interleaved (R,G,B per pixel), row-major: what every pixel codec consumes and returns. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface Encoded {
  /** The whole file as a decoder reads it (container, headers and all). */
  file: Uint8Array;
  /** The bytes that carry the picture, without container or parameter sets: each codec documents its definition. */
  codedBytes: number;
}

/**
 * One pixel codec. `quality` is the codec's own integer setting; `levels` lists the settings it is evaluated at,
 * ordered from worst to best fidelity, so search can bisect over indices whatever direction the native knob runs
 * (JPEG quality rises with fidelity, an HEVC QP falls).
 */
export interface PixelCodec {
  name: string;
  /** What the native quality number means, for reports. */
  knob: string;
  levels: readonly number[];
  /** A handful of levels for a default sweep, worst to best. */
  sweep: readonly number[];
  encode(rgb: RgbImage, quality: number): Promise<Encoded>;
  decode(file: Uint8Array, width: number, height: number): Promise<RgbImage>;
}

/** Integers from `from` to `to` inclusive, in that direction. */
export function range(from: number, to: number): number[] {
  const step = from <= to ? 1 : -1;
  const out: number[] = [];
  for (let q = from; step > 0 ? q <= to : q >= to; q += step) out.push(q);
  return out;
}
