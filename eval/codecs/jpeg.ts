import { jpegCodedBytes } from './payload.ts';
import { sharpDecode, sharpRaw } from './sharp-io.ts';
import { range, type PixelCodec } from './types.ts';

/** JPEG through sharp's mozjpeg (trellis quantisation, optimised Huffman, progressive scans, 4:2:0 chroma: sharp's defaults). */
export const jpeg: PixelCodec = {
  name: 'jpeg',
  knob: 'quality 1..100',
  levels: range(1, 100),
  sweep: [5, 10, 20, 30, 50, 70, 85, 95],
  async encode(rgb, quality) {
    const file = new Uint8Array(await sharpRaw(rgb).jpeg({ quality, mozjpeg: true }).toBuffer());
    return { file, codedBytes: jpegCodedBytes(file) };
  },
  decode: (file) => sharpDecode(file),
};
