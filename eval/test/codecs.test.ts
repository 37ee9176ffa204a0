import { beforeAll, describe, expect, it } from 'vitest';
import { CODECS } from '../codecs/index.ts';
import type { RgbImage } from '../codecs/types.ts';
import { loadPrepared } from '../images.ts';
import { measure } from '../measure.ts';
import { HAVE_KODAK, KODIM01 } from './kodak.ts';

describe.skipIf(!HAVE_KODAK)('pixel codecs on a 128x128 Kodak crop (kodim01)', () => {
  let rgb: RgbImage;
  beforeAll(async () => {
    rgb = await loadPrepared(KODIM01);
  });

  it('prepares the crop as the tokenizer does', () => {
    expect(rgb.width).toBe(128);
    expect(rgb.height).toBe(128);
    expect(rgb.data.length).toBe(128 * 128 * 3);
    expect(new Set(rgb.data).size).toBeGreaterThan(100); // a real picture, not a flat fill
  });

  for (const codec of Object.values(CODECS)) {
    it(`${codec.name}: round-trips, PSNR and bytes rise with quality, codedBytes < file`, async () => {
      const qs = [codec.sweep[1], codec.sweep[4], codec.sweep[7]] as number[];
      const rs = [];
      for (const q of qs) rs.push(await measure(codec, 'kodim01', rgb, q));
      for (const r of rs) {
        expect(r.psnr).toBeGreaterThan(20);
        expect(r.msssim).toBeGreaterThan(0.8);
        expect(r.codedBytes).toBeGreaterThan(0);
        if (codec.name === 'jxl') expect(r.codedBytes).toBe(r.bytes); // documented: bare codestream
        else expect(r.codedBytes).toBeLessThan(r.bytes);
      }
      for (let i = 1; i < rs.length; i++) {
        expect(rs[i]!.psnr).toBeGreaterThan(rs[i - 1]!.psnr);
        expect(rs[i]!.bytes).toBeGreaterThan(rs[i - 1]!.bytes);
        expect(rs[i]!.msssim).toBeGreaterThanOrEqual(rs[i - 1]!.msssim);
      }
    });
  }
});
