import type { RgbImage } from './codecs/types.ts';

/** PSNR in dB over all R, G, B samples on the 8-bit scale (one MSE for the three channels, as CompressAI reports it). */
export function psnr(a: RgbImage, b: RgbImage): number {
  sameSize(a, b);
  let se = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = (a.data[i] as number) - (b.data[i] as number);
    se += d * d;
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.data.length) / se);
}

/** Bits per pixel of `bytes` over a width x height image. */
export function bpp(bytes: number, width: number, height: number): number {
  return (8 * bytes) / (width * height);
}

const WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

/**
 * MS-SSIM (Wang, Simoncelli, Bovik 2003) on RGB: computed per channel and averaged, as pytorch_msssim does for
 * CompressAI's RGB numbers. Five scales, the usual weights, Gaussian σ = 1.5, K1 = 0.01, K2 = 0.03, valid
 * filtering, 2x2 average-pool between scales, negative terms clamped to 0 (as pytorch_msssim's relu).
 * Small images: the 11x11 window shrinks to the largest odd size that fits the scale (at 128x128 the 5th
 * scale is 8x8, so its window is 7x7, σ still 1.5) rather than dropping scales, so the weights stay standard.
 * Images under 16x16 (5th scale under 1 pixel) are refused.
 */
export function msssim(a: RgbImage, b: RgbImage): number {
  sameSize(a, b);
  if (Math.min(a.width, a.height) < 16) throw new RangeError('MS-SSIM needs at least 16x16');
  let sum = 0;
  for (let c = 0; c < 3; c++) sum += msssimPlane(plane(a, c), plane(b, c), a.width, a.height);
  return sum / 3;
}

function msssimPlane(x: Float64Array, y: Float64Array, w: number, h: number): number {
  let result = 1;
  for (let s = 0; s < WEIGHTS.length; s++) {
    const { ssim, cs } = ssimAt(x, y, w, h);
    const weight = WEIGHTS[s] as number;
    result *= Math.max(0, s === WEIGHTS.length - 1 ? ssim : cs) ** weight;
    if (s < WEIGHTS.length - 1) {
      [x, y] = [pool(x, w, h), pool(y, w, h)];
      [w, h] = [Math.ceil(w / 2), Math.ceil(h / 2)];
    }
  }
  return result;
}

/** Mean SSIM and mean contrast-structure term of one plane pair at one scale. */
function ssimAt(x: Float64Array, y: Float64Array, w: number, h: number): { ssim: number; cs: number } {
  let size = Math.min(11, w, h);
  if (size % 2 === 0) size--;
  const g = gaussian(size, 1.5);
  const mx = blur(x, w, h, g), my = blur(y, w, h, g);
  const xx = blur(mul(x, x), w, h, g), yy = blur(mul(y, y), w, h, g), xy = blur(mul(x, y), w, h, g);
  let ssim = 0, cs = 0;
  for (let i = 0; i < mx.length; i++) {
    const ux = mx[i] as number, uy = my[i] as number;
    const vx = (xx[i] as number) - ux * ux, vy = (yy[i] as number) - uy * uy, cxy = (xy[i] as number) - ux * uy;
    const c = (2 * cxy + C2) / (vx + vy + C2);
    cs += c;
    ssim += ((2 * ux * uy + C1) / (ux * ux + uy * uy + C1)) * c;
  }
  return { ssim: ssim / mx.length, cs: cs / mx.length };
}

function gaussian(size: number, sigma: number): Float64Array {
  const g = new Float64Array(size);
  const r = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    g[i] = Math.exp(-((i - r) ** 2) / (2 * sigma * sigma));
    sum += g[i] as number;
  }
  for (let i = 0; i < size; i++) g[i] = (g[i] as number) / sum;
  return g;
}

/** Separable valid-mode filtering: output (w - k + 1) x (h - k + 1). */
function blur(p: Float64Array, w: number, h: number, g: Float64Array): Float64Array {
  const k = g.length, ow = w - k + 1, oh = h - k + 1;
  const tmp = new Float64Array(ow * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < ow; x++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += (g[i] as number) * (p[y * w + x + i] as number);
      tmp[y * ow + x] = acc;
    }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += (g[i] as number) * (tmp[(y + i) * ow + x] as number);
      out[y * ow + x] = acc;
    }
  return out;
}

/** 2x2 average pooling; an odd edge averages the pixels it has (as avg_pool2d with padding, count_include_pad=False). */
function pool(p: Float64Array, w: number, h: number): Float64Array {
  const ow = Math.ceil(w / 2), oh = Math.ceil(h / 2);
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      let acc = 0, n = 0;
      for (let dy = 0; dy < 2; dy++)
        for (let dx = 0; dx < 2; dx++) {
          const sx = 2 * x + dx, sy = 2 * y + dy;
          if (sx < w && sy < h) { acc += p[sy * w + sx] as number; n++; }
        }
      out[y * ow + x] = acc / n;
    }
  return out;
}

function mul(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) * (b[i] as number);
  return out;
}

function plane(img: RgbImage, c: number): Float64Array {
  const n = img.width * img.height;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = img.data[3 * i + c] as number;
  return out;
}

function sameSize(a: RgbImage, b: RgbImage): void {
  if (a.width !== b.width || a.height !== b.height || a.data.length !== b.data.length || a.data.length !== 3 * a.width * a.height)
    throw new RangeError('images differ in size or are not RGB');
}
