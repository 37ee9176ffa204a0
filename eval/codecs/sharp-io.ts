import sharp from 'sharp';
import type { RgbImage } from './types.ts';

/** The sharp input for an interleaved RGB image. */
export function sharpRaw(rgb: RgbImage): sharp.Sharp {
  return sharp(Buffer.from(rgb.data.buffer, rgb.data.byteOffset, rgb.data.byteLength), {
    raw: { width: rgb.width, height: rgb.height, channels: 3 },
  });
}

/** Decodes any file sharp reads into 8-bit sRGB without alpha. */
export async function sharpDecode(file: Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(file).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels, want 3`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
