import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../codecs/types.ts';
import { bpp, msssim, psnr } from '../metrics.ts';

/** A deterministic textured test image (smooth gradients plus a pseudo-random texture). */
function texture(w = 128, h = 128): RgbImage {
  const data = new Uint8Array(3 * w * h);
  let s = 12345;
  for (let i = 0; i < w * h; i++) {
    const x = i % w, y = Math.floor(i / w);
    s = (s * 1103515245 + 12345) >>> 0;
    for (let c = 0; c < 3; c++) data[3 * i + c] = Math.max(0, Math.min(255, Math.round(128 + 60 * Math.sin((x + 7 * c) / 9) * Math.cos(y / 13) + ((s >>> (8 * c)) & 31) - 16)));
  }
  return { width: w, height: h, data };
}

const map = (img: RgbImage, f: (v: number, i: number) => number): RgbImage => ({ ...img, data: img.data.map((v, i) => Math.max(0, Math.min(255, f(v, i)))) });

describe('metrics', () => {
  const a = texture();

  it('identical images: PSNR inf, MS-SSIM 1', () => {
    expect(psnr(a, a)).toBe(Infinity);
    expect(msssim(a, a)).toBeCloseTo(1, 12);
  });

  it('PSNR of a known error: +-d on every sample gives 10 log10(255^2 / d^2)', () => {
    const b = map(a, (v, i) => (v < 128 ? v + 4 : v - 4) + (i & 0));
    expect(psnr(a, b)).toBeCloseTo(10 * Math.log10((255 * 255) / 16), 10);
    // One channel off by 3 everywhere: MSE 9/3 over all samples.
    const c = map(a, (v, i) => (i % 3 === 0 ? (v < 128 ? v + 3 : v - 3) : v));
    expect(psnr(a, c)).toBeCloseTo(10 * Math.log10((255 * 255) / 3), 10);
  });

  it('MS-SSIM falls with noise strength and stays in (0, 1)', () => {
    const noisy = (amp: number) => {
      let s = 99;
      return map(a, (v) => {
        s = (s * 1664525 + 1013904223) >>> 0;
        return v + Math.round(((s / 2 ** 32) * 2 - 1) * amp);
      });
    };
    const m = [2, 10, 40].map((amp) => msssim(a, noisy(amp)));
    expect(m[0]).toBeLessThan(1);
    expect(m[0]).toBeGreaterThan(m[1]!);
    expect(m[1]).toBeGreaterThan(m[2]!);
    expect(m[2]).toBeGreaterThan(0);
    expect(m[0]).toBeGreaterThan(0.98);
  });

  it('MS-SSIM ignores a tiny mean shift far more than PSNR does', () => {
    const b = map(a, (v) => v + 2);
    expect(msssim(a, b)).toBeGreaterThan(0.999);
  });

  it('MS-SSIM handles the 8x8 fifth scale of 128x128 and non-square odd sizes, refuses tiny ones', () => {
    const t = texture(97, 131);
    expect(msssim(t, t)).toBeCloseTo(1, 12);
    expect(() => msssim(texture(8, 8), texture(8, 8))).toThrow(RangeError);
    expect(() => psnr(texture(8, 8), texture(9, 8))).toThrow(RangeError);
  });

  it('bpp', () => {
    expect(bpp(2048, 128, 128)).toBe(1);
  });
});
