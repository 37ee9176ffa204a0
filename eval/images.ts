import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { downscaleAndCrop, type PlanarImage } from '@unimic/models';
import { readPng } from '@unimic/models/node';
import type { RgbImage } from './codecs/types.ts';

/** The tokenizer's Kodak preparation (the pack's and the models tests'): box-downscale by 4, centre crop 128x128. */
export const KODAK_FACTOR = 4;
export const KODAK_SIZE = 128;

/**
 * Loads a PNG and prepares it exactly as the tokenizer sees it, via the models package's own readPng and
 * downscaleAndCrop, then rounds to 8 bits the way its toPng does, so pixel codecs and the tokenizer start
 * from the same pixels.
 */
export async function loadPrepared(file: string, factor = KODAK_FACTOR, size = KODAK_SIZE): Promise<RgbImage> {
  return planarToRgb(downscaleAndCrop(await readPng(file), factor, size));
}

export function planarToRgb(img: PlanarImage): RgbImage {
  const n = img.width * img.height;
  const data = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++) data[3 * i + c] = Math.round(Math.min(1, Math.max(0, img.data[c * n + i] as number)) * 255);
  return { width: img.width, height: img.height, data };
}

/** The PNG files of a folder, sorted by name. */
export async function listPngs(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.toLowerCase().endsWith('.png')).sort().map((f) => path.join(dir, f));
}
