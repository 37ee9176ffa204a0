import type { PlanarImage } from './tokenizer.ts';

/**
 * Area-average downscale by an integer factor, then a centre crop: how the edge brings a photo to
 * the tokenizer's native size (and how the Kodak evaluation in training/ does it: resize by 4,
 * centre 128x128).
 */
export function downscaleAndCrop(image: PlanarImage, factor: number, size: number): PlanarImage {
  const w = Math.floor(image.width / factor);
  const h = Math.floor(image.height / factor);
  if (w < size || h < size) throw new RangeError(`${image.width}x${image.height} / ${factor} is smaller than ${size}`);
  const x0 = Math.floor((w - size) / 2);
  const y0 = Math.floor((h - size) / 2);
  const out = new Float32Array(3 * size * size);
  const plane = image.width * image.height;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let acc = 0;
        for (let dy = 0; dy < factor; dy++) {
          const row = c * plane + ((y0 + y) * factor + dy) * image.width + (x0 + x) * factor;
          for (let dx = 0; dx < factor; dx++) acc += image.data[row + dx] as number;
        }
        out[c * size * size + y * size + x] = acc / (factor * factor);
      }
    }
  }
  return { width: size, height: size, data: out };
}

/** PSNR in dB of `b` against `a` (both [0, 1]), on the 0..255 scale after rounding like a PNG. */
export function psnr(a: PlanarImage, b: PlanarImage): number {
  if (a.data.length !== b.data.length) throw new RangeError('images differ in size');
  let se = 0;
  for (let i = 0; i < a.data.length; i++) {
    const q = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
    const d = q(a.data[i] as number) - q(b.data[i] as number);
    se += d * d;
  }
  const mse = se / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
