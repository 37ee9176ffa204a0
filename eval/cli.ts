#!/usr/bin/env tsx
/**
 * Pixel-codec half of `npm run eval`: rate-fidelity of JPEG, WebP, AVIF, HEVC, JPEG XL and AV1 on the Kodak
 * crops the tokenizer sees.
 *   tsx eval/cli.ts [--images DIR] [--limit N] [--codecs jpeg,webp,...] [--qualities 10,50 | jpeg:10/50,hevc:40/30]
 *                   [--target-psnr X[,Y]] [--target-msssim X] [--target-bpp X] [--coded] [--sweep] [--jobs N] [--json] [--out DIR]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_IMAGES, runPixelEval, type PixelEvalOptions } from './pixel-eval.ts';
import { formatTable } from './report.ts';
import type { Target } from './search.ts';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: DEFAULT_IMAGES },
    limit: { type: 'string' },
    codecs: { type: 'string', default: 'jpeg,webp,avif,hevc,jxl,av1' },
    qualities: { type: 'string' },
    'target-psnr': { type: 'string' },
    'target-msssim': { type: 'string' },
    'target-bpp': { type: 'string' },
    coded: { type: 'boolean', default: false },
    sweep: { type: 'boolean' },
    jobs: { type: 'string' },
    json: { type: 'boolean', default: false },
    out: { type: 'string', default: 'out/eval' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write('usage: tsx eval/cli.ts [--images DIR] [--limit N] [--codecs a,b] [--qualities q,q | codec:q/q,...] [--target-psnr X] [--target-msssim X] [--target-bpp X] [--coded] [--sweep] [--jobs N] [--json] [--out DIR]\n');
  process.exit(0);
}

const codecs = (values.codecs as string).split(',').map((s) => s.trim()).filter(Boolean);
const numbers = (s: string, sep: string) => s.split(sep).map((v) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
});

/** "10,50" applies to every codec; "jpeg:10/50,hevc:40/30" is per codec. */
function parseQualities(s: string): Record<string, number[]> {
  if (!s.includes(':')) return Object.fromEntries(codecs.map((c) => [c, numbers(s, ',')]));
  return Object.fromEntries(s.split(',').map((part) => {
    const [codec, list] = part.split(':') as [string, string | undefined];
    return [codec, numbers(list ?? '', '/')];
  }));
}

const rate = values.coded ? 'codedBytes' : 'bytes';
const targets: Target[] = [
  ...(values['target-psnr'] ? numbers(values['target-psnr'], ',').map((value): Target => ({ kind: 'psnr', value, rate })) : []),
  ...(values['target-msssim'] ? numbers(values['target-msssim'], ',').map((value): Target => ({ kind: 'msssim', value, rate })) : []),
  ...(values['target-bpp'] ? numbers(values['target-bpp'], ',').map((value): Target => ({ kind: 'bpp', value, rate })) : []),
];

const options: PixelEvalOptions = {
  images: values.images as string,
  codecs,
  targets,
  out: values.out as string,
  ...(values.limit ? { limit: Number(values.limit) } : {}),
  ...(values.jobs ? { jobs: Number(values.jobs) } : {}),
  ...(values.qualities ? { qualities: parseQualities(values.qualities) } : {}),
  ...(values.sweep !== undefined ? { sweep: values.sweep } : {}),
  ...(values.json ? { onRecord: (r) => process.stdout.write(JSON.stringify(r) + '\n') } : {}),
  onProgress: (p) => {
    const eta = p.done < p.total ? ((p.elapsedMs / p.done) * (p.total - p.done)) / 1000 : 0;
    const width = 24;
    const bar = '#'.repeat(Math.round((width * p.done) / p.total)).padEnd(width, '.');
    process.stderr.write(`\r[${bar}] ${p.done}/${p.total} image ${p.imageIndex}/${p.images} ${p.image} ${p.codec.padEnd(4)} ETA ${eta.toFixed(0)}s   `);
    if (p.done === p.total) process.stderr.write('\n');
  },
};

const result = await runPixelEval(options);
const log = values.json ? (s: string) => process.stderr.write(s + '\n') : (s: string) => process.stdout.write(s + '\n');
if (result.targets.length) {
  log('\nPer codec at each target (means over images; the chosen point is the smallest file meeting the target):');
  log(formatTable(result.targets.map((t) => ({ codec: t.codec, target: t.target, met: `${t.met}/${t.images}`, bytes: Math.round(t.meanBytes), codedBytes: Math.round(t.meanCodedBytes), bpp: t.meanBpp, psnr: t.meanPsnr, msssim: t.meanMsssim }))));
}
if (result.curves.length) {
  log(`\nMean RD curves; BD-rate (file bytes, PSNR) vs ${result.curves[0]?.codec}:`);
  log(formatTable(result.curves.map((c) => ({
    codec: c.codec,
    points: c.curve.length,
    'bpp range': `${c.curve[0]?.bpp.toFixed(2)}..${c.curve.at(-1)?.bpp.toFixed(2)}`,
    'psnr range': `${c.curve[0]?.psnr.toFixed(1)}..${c.curve.at(-1)?.psnr.toFixed(1)}`,
    'BD-rate %': c.bdRateVsAnchor,
  }))));
}
if (result.files.length) log(`\nwrote ${result.files.join(', ')}`);
