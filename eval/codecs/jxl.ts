import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { run, withTempDir } from './exec.ts';
import { range, type PixelCodec, type RgbImage } from './types.ts';

/**
 * JPEG XL through cjxl/djxl (libjxl 0.7), VarDCT at -q 5..99 (below 5 maps to a distance over libjxl's limit
 * of 25; 100 is lossless modular, off the lossy curve),
 * effort 7. cjxl writes a bare codestream (no ISOBMFF container when there is no metadata), whose header is a
 * few bytes, so codedBytes is the whole file.
 */
export const jxl: PixelCodec = {
  name: 'jxl',
  knob: 'cjxl -q 5..99',
  levels: range(5, 99),
  sweep: [5, 15, 30, 45, 60, 75, 85, 95],
  encode: (rgb, quality) =>
    withTempDir(async (dir) => {
      const input = path.join(dir, 'in.ppm');
      const output = path.join(dir, 'out.jxl');
      await writeFile(input, ppm(rgb));
      await run('cjxl', [input, output, '-q', String(quality), '-e', '7', '--quiet']);
      const file = new Uint8Array(await readFile(output));
      return { file, codedBytes: file.length };
    }),
  decode: (file, width, height) =>
    withTempDir(async (dir) => {
      const input = path.join(dir, 'in.jxl');
      const output = path.join(dir, 'out.png');
      await writeFile(input, file);
      await run('djxl', [input, output, '--quiet']);
      const { data, info } = await sharp(await readFile(output)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      if (info.width !== width || info.height !== height) throw new Error('djxl: size mismatch');
      return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    }),
};

/** A binary PPM (P6), the simplest input cjxl reads. */
function ppm(rgb: RgbImage): Uint8Array {
  const head = new TextEncoder().encode(`P6\n${rgb.width} ${rgb.height}\n255\n`);
  const out = new Uint8Array(head.length + rgb.data.length);
  out.set(head);
  out.set(rgb.data, head.length);
  return out;
}
