import type { PixelCodec, RgbImage } from './codecs/types.ts';
import { measure, type RdRecord, type TargetKind } from './measure.ts';

export interface Target {
  kind: TargetKind;
  value: number;
  /** For a bpp target, which size counts: the file (default) or the container-free codedBytes. */
  rate?: 'bytes' | 'codedBytes';
}

/**
 * The codec setting that meets a target on one image, by bisection over the codec's levels (worst to best
 * fidelity, so fidelity and size both rise with the index, near enough). A fidelity target (PSNR, MS-SSIM)
 * gives the smallest file that meets it; a bpp target, the best PSNR at or under it. Every measured point is
 * kept and the answer is picked among them, so a non-monotone step cannot make it worse than what was seen.
 * When no level meets the target the nearest point is returned with `met: false`.
 */
export async function searchTarget(codec: PixelCodec, image: string, rgb: RgbImage, target: Target): Promise<RdRecord> {
  const levels = codec.levels;
  const seen = new Map<number, RdRecord>();
  const at = async (i: number): Promise<RdRecord> => {
    let r = seen.get(i);
    if (!r) seen.set(i, (r = await measure(codec, image, rgb, levels[i] as number)));
    return r;
  };
  const meets = (r: RdRecord) => meetsTarget(r, target);
  // For fidelity, "meets" is false then true along the levels; for bpp, true then false.
  const fidelity = target.kind !== 'bpp';
  let lo = 0;
  let hi = levels.length - 1;
  while (lo < hi) {
    const mid = fidelity ? (lo + hi) >> 1 : (lo + hi + 1) >> 1;
    const ok = meets(await at(mid));
    if (fidelity) ok ? (hi = mid) : (lo = mid + 1);
    else ok ? (lo = mid) : (hi = mid - 1);
  }
  await at(lo);
  const all = [...seen.values()];
  const good = all.filter(meets);
  const pick = good.length
    ? good.reduce((a, b) => (fidelity ? (rateOf(b, target) < rateOf(a, target) ? b : a) : b.psnr > a.psnr ? b : a))
    : all.reduce((a, b) => (fidelity ? (value(b, target.kind) > value(a, target.kind) ? b : a) : b.bpp < a.bpp ? b : a));
  return { ...pick, target: { kind: target.kind, value: target.value, met: good.length > 0 } };
}

export function meetsTarget(r: RdRecord, target: Target): boolean {
  return target.kind === 'bpp' ? rateOf(r, target) <= target.value : value(r, target.kind) >= target.value;
}

function rateOf(r: RdRecord, target: Target): number {
  return target.kind === 'bpp' ? (target.rate === 'codedBytes' ? r.codedBpp : r.bpp) : target.rate === 'codedBytes' ? r.codedBytes : r.bytes;
}

function value(r: RdRecord, kind: TargetKind): number {
  return kind === 'psnr' ? r.psnr : kind === 'msssim' ? r.msssim : r.bpp;
}
