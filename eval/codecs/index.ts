import { av1 } from './av1.ts';
import { avif } from './avif.ts';
import { hevc } from './hevc.ts';
import { jpeg } from './jpeg.ts';
import { jxl } from './jxl.ts';
import { webp } from './webp.ts';
import type { PixelCodec } from './types.ts';

export type { Encoded, PixelCodec, RgbImage } from './types.ts';

/** Every pixel codec, by the name the CLI takes. */
export const CODECS: Readonly<Record<string, PixelCodec>> = { jpeg, webp, avif, hevc, jxl, av1 };

export function codecByName(name: string): PixelCodec {
  const c = CODECS[name];
  if (!c) throw new Error(`unknown codec ${name} (have ${Object.keys(CODECS).join(', ')})`);
  return c;
}
