import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run, withTempDir } from './exec.ts';
import type { RgbImage } from './types.ts';

const QUIET = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'];

/** Encodes one RGB frame with ffmpeg: `codecArgs` pick the encoder and its settings, `format` the raw muxer. */
export function ffmpegEncode(rgb: RgbImage, codecArgs: readonly string[], format: string): Promise<Uint8Array> {
  return withTempDir(async (dir) => {
    const input = path.join(dir, 'in.rgb');
    const output = path.join(dir, `out.${format}`);
    await writeFile(input, rgb.data);
    await run('ffmpeg', [
      ...QUIET,
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${rgb.width}x${rgb.height}`, '-i', input,
      '-frames:v', '1', ...codecArgs, '-f', format, output,
    ]);
    return new Uint8Array(await readFile(output));
  });
}

/** Decodes a raw bitstream file with ffmpeg back to rgb24 (the colour conversion is ffmpeg's default, BT.601). */
export function ffmpegDecode(file: Uint8Array, format: string, width: number, height: number): Promise<RgbImage> {
  return withTempDir(async (dir) => {
    const input = path.join(dir, `in.${format}`);
    const output = path.join(dir, 'out.rgb');
    await writeFile(input, file);
    await run('ffmpeg', [...QUIET, '-f', format, '-i', input, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', output]);
    const data = new Uint8Array(await readFile(output));
    if (data.length !== width * height * 3) throw new Error(`ffmpeg decoded ${data.length} bytes, want ${width * height * 3}`);
    return { width, height, data };
  });
}
