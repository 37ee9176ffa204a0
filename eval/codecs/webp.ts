import { webpCodedBytes } from './payload.ts';
import { sharpDecode, sharpRaw } from './sharp-io.ts';
import { range, type PixelCodec } from './types.ts';

/** Lossy WebP (VP8, always 4:2:0) through sharp, at its slowest, best effort. */
export const webp: PixelCodec = {
  name: 'webp',
  knob: 'quality 1..100',
  levels: range(1, 100),
  sweep: [5, 10, 20, 30, 50, 70, 85, 95],
  async encode(rgb, quality) {
    const file = new Uint8Array(await sharpRaw(rgb).webp({ quality, effort: 6 }).toBuffer());
    return { file, codedBytes: webpCodedBytes(file) };
  },
  decode: (file) => sharpDecode(file),
};
