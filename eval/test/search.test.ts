import { beforeAll, describe, expect, it } from 'vitest';
import { jpeg } from '../codecs/jpeg.ts';
import { webp } from '../codecs/webp.ts';
import type { RgbImage } from '../codecs/types.ts';
import { loadPrepared } from '../images.ts';
import { measure } from '../measure.ts';
import { searchTarget } from '../search.ts';
import { HAVE_KODAK, KODIM01 } from './kodak.ts';

describe.skipIf(!HAVE_KODAK)('target search on kodim01', () => {
  let rgb: RgbImage;
  beforeAll(async () => {
    rgb = await loadPrepared(KODIM01);
  });

  it('PSNR target: meets it, and the next lower setting does not', async () => {
    const r = await searchTarget(jpeg, 'kodim01', rgb, { kind: 'psnr', value: 28 });
    expect(r.target).toEqual({ kind: 'psnr', value: 28, met: true });
    expect(r.psnr).toBeGreaterThanOrEqual(28);
    const below = await measure(jpeg, 'kodim01', rgb, r.quality - 1);
    expect(below.psnr < 28 || below.bytes >= r.bytes).toBe(true);
  });

  it('MS-SSIM target on another codec', async () => {
    const r = await searchTarget(webp, 'kodim01', rgb, { kind: 'msssim', value: 0.95 });
    expect(r.msssim).toBeGreaterThanOrEqual(0.95);
    expect(r.target?.met).toBe(true);
  });

  it('bpp target: at or under it, and one setting up goes over', async () => {
    const r = await searchTarget(jpeg, 'kodim01', rgb, { kind: 'bpp', value: 1 });
    expect(r.bpp).toBeLessThanOrEqual(1);
    const above = await measure(jpeg, 'kodim01', rgb, r.quality + 1);
    expect(above.bpp > 1 || above.psnr <= r.psnr).toBe(true);
  });

  it('an unreachable target is reported as unmet, with the closest point', async () => {
    const r = await searchTarget(jpeg, 'kodim01', rgb, { kind: 'psnr', value: 80 });
    expect(r.target?.met).toBe(false);
    expect(r.quality).toBeGreaterThanOrEqual(95);
  });
});
