import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { codecByName } from './codecs/index.ts';
import type { RgbImage } from './codecs/types.ts';
import { listPngs, loadPrepared } from './images.ts';
import { measure, type RdRecord } from './measure.ts';
import { svgToPng } from './plot.ts';
import { rdPlots, summariseCurves, summariseTargets, type CurveSummary, type TargetSummary } from './report.ts';
import { searchTarget, type Target } from './search.ts';

/** The Kodak folder next to the checkout, where the project keeps its shared data. */
export const DEFAULT_IMAGES = fileURLToPath(new URL('../../shared/data/kodak', import.meta.url));

export interface PixelEvalOptions {
  images?: string;
  limit?: number;
  codecs?: readonly string[];
  /** Settings to sweep per codec; a codec without an entry uses its own default sweep. */
  qualities?: Readonly<Record<string, readonly number[]>>;
  /** Sweep the settings even when targets are given (default: sweep only when there are no targets or qualities were given). */
  sweep?: boolean;
  targets?: readonly Target[];
  /** Folder for records.jsonl, summary.json and the plots; nothing is written when absent. */
  out?: string;
  /** Parallel encode jobs (each an image x codec); default: the CPU count. */
  jobs?: number;
  onRecord?: (r: RdRecord) => void;
  onProgress?: (p: { done: number; total: number; image: string; imageIndex: number; images: number; codec: string; elapsedMs: number }) => void;
}

export interface PixelEvalResult {
  records: RdRecord[];
  targets: TargetSummary[];
  curves: CurveSummary[];
  files: string[];
}

/** Rate-fidelity of the pixel codecs on prepared images: a sweep and/or a per-image search for each target. */
export async function runPixelEval(options: PixelEvalOptions = {}): Promise<PixelEvalResult> {
  const files = (await listPngs(options.images ?? DEFAULT_IMAGES)).slice(0, options.limit ?? Infinity);
  if (files.length === 0) throw new Error(`no PNG images in ${options.images ?? DEFAULT_IMAGES}`);
  const codecs = (options.codecs ?? ['jpeg', 'webp', 'avif', 'hevc', 'jxl', 'av1']).map(codecByName);
  const targets = options.targets ?? [];
  const sweep = options.sweep ?? (targets.length === 0 || options.qualities !== undefined);
  const images: { name: string; rgb: RgbImage }[] = [];
  for (const f of files) images.push({ name: path.basename(f, path.extname(f)), rgb: await loadPrepared(f) });

  const tasks = images.flatMap((img, imageIndex) => codecs.map((codec) => ({ img, imageIndex, codec })));
  const records: RdRecord[] = [];
  const start = performance.now();
  let done = 0;
  let next = 0;
  const worker = async () => {
    for (let t = tasks[next++]; t; t = tasks[next++]) {
      const out: RdRecord[] = [];
      if (sweep) for (const q of options.qualities?.[t.codec.name] ?? t.codec.sweep) out.push(await measure(t.codec, t.img.name, t.img.rgb, q));
      for (const target of targets) out.push(await searchTarget(t.codec, t.img.name, t.img.rgb, target));
      for (const r of out) { records.push(r); options.onRecord?.(r); }
      done++;
      options.onProgress?.({ done, total: tasks.length, image: t.img.name, imageIndex: t.imageIndex + 1, images: images.length, codec: t.codec.name, elapsedMs: performance.now() - start });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs ?? os.availableParallelism()) }, worker));
  // Workers finish out of order; keep the records in image x codec x setting order for stable output.
  const order = new Map(tasks.map((t, i) => [`${t.img.name}/${t.codec.name}`, i]));
  records.sort((a, b) => (order.get(`${a.image}/${a.codec}`) as number) - (order.get(`${b.image}/${b.codec}`) as number));

  const result: PixelEvalResult = { records, targets: summariseTargets(records), curves: summariseCurves(records), files: [] };
  if (options.out) result.files = await writeOutputs(options.out, result);
  return result;
}

async function writeOutputs(dir: string, r: PixelEvalResult): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: [string, string | Uint8Array][] = [
    ['records.jsonl', r.records.map((x) => JSON.stringify(x)).join('\n') + '\n'],
    ['summary.json', JSON.stringify({ targets: r.targets, curves: r.curves }, null, 2) + '\n'],
  ];
  const plots = rdPlots(r.curves, r.targets);
  written.push(['rd-psnr.svg', plots.psnr], ['rd-msssim.svg', plots.msssim]);
  written.push(['rd-psnr.png', await svgToPng(plots.psnr)], ['rd-msssim.png', await svgToPng(plots.msssim)]);
  const paths: string[] = [];
  for (const [name, body] of written) {
    const p = path.join(dir, name);
    await writeFile(p, body);
    paths.push(p);
  }
  return paths;
}
