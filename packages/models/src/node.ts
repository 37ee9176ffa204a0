import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import type { PackReader } from './load.ts';
import type { Runtime, TensorLike } from './inference.ts';
import type { PlanarImage } from './tokenizer.ts';

/** A PackReader over a pack folder on disk. Names are plain file names (the manifest checks). */
export function folderReader(dir: string): PackReader {
  return async (name) => new Uint8Array(await readFile(path.join(dir, path.basename(name))));
}

/**
 * onnxruntime-node (native CPU) as a Runtime: for the tokenizer, whose outputs only one peer needs.
 * Entropy models must not use it (their floats must match the other peer's: docs/models.md).
 */
export function nativeRuntime(threads = 2): Runtime {
  const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');
  return {
    createSession: async (model) =>
      (await ort.InferenceSession.create(model, { intraOpNumThreads: threads, executionProviders: ['cpu'] })) as unknown as Awaited<ReturnType<Runtime['createSession']>>,
    tensor: (type, data, dims) => new ort.Tensor(type, data, dims as number[]) as unknown as TensorLike,
  };
}

/** Decodes a PNG into planar float RGB in [0, 1] (alpha dropped). */
export async function readPng(file: string): Promise<PlanarImage> {
  const png = PNG.sync.read(await readFile(file));
  const { width, height, data } = png;
  const out = new Float32Array(3 * width * height);
  for (let i = 0; i < width * height; i++) {
    out[i] = (data[4 * i] as number) / 255;
    out[width * height + i] = (data[4 * i + 1] as number) / 255;
    out[2 * width * height + i] = (data[4 * i + 2] as number) / 255;
  }
  return { width, height, data: out };
}

/** Decodes a PNG or JPEG file (by its bytes' signature) into planar float RGB in [0, 1]. */
export async function readImage(file: string): Promise<PlanarImage> {
  const bytes = await readFile(file);
  if (bytes[0] === 0x89 && bytes[1] === 0x50) return readPng(file);
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error(`${file}: not a PNG or JPEG file`);
  const { width, height, data } = jpeg.decode(bytes, { useTArray: true, maxMemoryUsageInMB: 512 });
  const out = new Float32Array(3 * width * height);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) out[c * width * height + i] = (data[4 * i + c] as number) / 255;
  return { width, height, data: out };
}

/** Encodes planar float RGB in [0, 1] as a PNG. */
export function toPng(image: PlanarImage): Buffer {
  const { width, height, data } = image;
  const png = new PNG({ width, height });
  const n = width * height;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) png.data[4 * i + c] = Math.round(Math.min(1, Math.max(0, data[c * n + i] as number)) * 255);
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png);
}

export { workerRuntime, type WorkerRuntime } from './worker-runtime.ts';
