import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { HAVE_KODAK } from './kodak.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIELDS = ['image', 'codec', 'quality', 'bytes', 'codedBytes', 'bpp', 'codedBpp', 'psnr', 'msssim', 'encodeMs', 'decodeMs'];

describe.skipIf(!HAVE_KODAK)('eval CLI', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('2 images x 2 codecs: JSON lines on stdout and in the out folder, with every field, plus plots', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'unimic-eval-cli-'));
    const args = ['--import', 'tsx', 'eval/cli.ts', '--limit', '2', '--codecs', 'jpeg,webp', '--qualities', '20,50,80', '--target-psnr', '27', '--json', '--out', dir];
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, args, { cwd: ROOT, maxBuffer: 16 << 20 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out))),
    );
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2 * 2 * (3 + 1));
    for (const r of lines) {
      for (const f of FIELDS) expect(r, f).toHaveProperty(f);
      for (const f of FIELDS.slice(2)) expect(typeof r[f], f).toBe('number');
      expect(r.codedBytes as number).toBeLessThan(r.bytes as number);
      expect(r.bpp).toBeCloseTo(((r.bytes as number) * 8) / (128 * 128), 12);
    }
    expect(new Set(lines.map((r) => r.image))).toEqual(new Set(['kodim01', 'kodim02']));
    expect(new Set(lines.map((r) => r.codec))).toEqual(new Set(['jpeg', 'webp']));
    const targeted = lines.filter((r) => r.target);
    expect(targeted).toHaveLength(4);
    for (const r of targeted) expect(r.psnr as number).toBeGreaterThanOrEqual(27);

    const file = (await readFile(path.join(dir, 'records.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(file).toHaveLength(lines.length); // same records; the file is in image x codec order, stdout in completion order
    expect(file).toEqual(expect.arrayContaining(lines));
    const summary = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8')) as { targets: { codec: string; met: number }[] };
    expect(summary.targets.map((t) => t.met)).toEqual([2, 2]);
    const svg = await readFile(path.join(dir, 'rd-psnr.svg'), 'utf8');
    expect(svg).toContain('<polyline');
    expect(svg).toContain('jpeg');
    expect((await stat(path.join(dir, 'rd-msssim.png'))).size).toBeGreaterThan(1000);
  });
});
