import { describe, expect, it } from 'vitest';
import { bdPsnr, bdRate, polyfit, type RdPoint } from '../bd-rate.ts';

/** A realistic anchor: PSNR rises with log rate, not quite linearly. */
const anchor: RdPoint[] = [300, 600, 1100, 2000, 3500, 6000].map((rate) => ({ rate, quality: 10 + 4 * Math.log(rate) - 0.05 * Math.log(rate) ** 2 }));

describe('BD-rate', () => {
  it('10% fewer bytes at every PSNR is -10%', () => {
    const test = anchor.map((p) => ({ rate: 0.9 * p.rate, quality: p.quality }));
    expect(bdRate(anchor, test)).toBeCloseTo(-10, 9);
    expect(bdRate(test, anchor)).toBeCloseTo((1 / 0.9 - 1) * 100, 9);
  });

  it('the same curve is 0%, whatever the sampling', () => {
    expect(bdRate(anchor, anchor)).toBeCloseTo(0, 9);
  });

  it('only the overlapping PSNR range counts', () => {
    // Same curve with 25% more bytes, sampled on a shifted rate range.
    const f = (r: number) => 10 + 4 * Math.log(r) - 0.05 * Math.log(r) ** 2;
    const test = [900, 1500, 2600, 4500, 9000, 15000].map((r) => ({ rate: 1.25 * r, quality: f(r) }));
    // The inverse of that curve is not exactly cubic, so the fit is only close: within 0.001 %.
    expect(bdRate(anchor, test)).toBeCloseTo(25, 3);
  });

  it('BD-PSNR of a curve 1 dB better is +1 dB', () => {
    expect(bdPsnr(anchor, anchor.map((p) => ({ rate: p.rate, quality: p.quality + 1 })))).toBeCloseTo(1, 9);
  });

  it('refuses too few points and disjoint curves', () => {
    expect(() => bdRate(anchor.slice(0, 3), anchor)).toThrow(RangeError);
    expect(() => bdRate(anchor, anchor.map((p) => ({ rate: p.rate, quality: p.quality + 100 })))).toThrow(RangeError);
  });

  it('polyfit recovers a cubic exactly', () => {
    const pts = [20, 24, 28, 32, 36, 40].map((x) => ({ x, y: 1 - 2 * x + 0.3 * x ** 2 - 0.004 * x ** 3 }));
    const p = polyfit(pts, 3);
    for (const { x, y } of pts) {
      const u = (x - p.mu) / p.s;
      expect(p.c.reduce((a, k, i) => a + k * u ** i, 0)).toBeCloseTo(y, 8);
    }
  });
});
