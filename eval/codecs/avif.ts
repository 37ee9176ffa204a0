import { avifCodedBytes } from './payload.ts';
import { sharpDecode, sharpRaw } from './sharp-io.ts';
import { range, type PixelCodec } from './types.ts';

/** AVIF through sharp (libheif + aom), 4:4:4 chroma, effort 4 (sharp's defaults but explicit). */
export const avif: PixelCodec = {
  name: 'avif',
  knob: 'quality 1..100',
  levels: range(1, 100),
  sweep: [5, 10, 20, 30, 45, 60, 75, 90],
  async encode(rgb, quality) {
    const file = new Uint8Array(await sharpRaw(rgb).avif({ quality, effort: 4, chromaSubsampling: '4:4:4' }).toBuffer());
    return { file, codedBytes: avifCodedBytes(file) };
  },
  decode: (file) => sharpDecode(file),
};
