import type { PixelCodec, RgbImage } from './codecs/types.ts';
import { bpp, msssim, psnr } from './metrics.ts';

/** One rate-fidelity point, CompressAI-style: one record per image x codec x setting. */
export interface RdRecord {
  image: string;
  codec: string;
  quality: number;
  bytes: number;
  codedBytes: number;
  bpp: number;
  codedBpp: number;
  psnr: number;
  msssim: number;
  encodeMs: number;
  decodeMs: number;
  /** Set when the point was chosen by a target search: what it was asked to meet, and whether it did. */
  target?: { kind: TargetKind; value: number; met: boolean };
}

export type TargetKind = 'psnr' | 'msssim' | 'bpp';

/** Encodes, decodes and scores one image at one setting; wall-clock times include the tool's process start. */
export async function measure(codec: PixelCodec, image: string, rgb: RgbImage, quality: number): Promise<RdRecord> {
  const t0 = performance.now();
  const enc = await codec.encode(rgb, quality);
  const t1 = performance.now();
  const out = await codec.decode(enc.file, rgb.width, rgb.height);
  const t2 = performance.now();
  return {
    image,
    codec: codec.name,
    quality,
    bytes: enc.file.length,
    codedBytes: enc.codedBytes,
    bpp: bpp(enc.file.length, rgb.width, rgb.height),
    codedBpp: bpp(enc.codedBytes, rgb.width, rgb.height),
    psnr: psnr(rgb, out),
    msssim: msssim(rgb, out),
    encodeMs: t1 - t0,
    decodeMs: t2 - t1,
  };
}
