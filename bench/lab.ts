import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requireRoot } from '@unimic/netlab';
import { runLab } from '../lab/run.ts';
import { parseSweep } from '../lab/sweep.ts';
import type { Suite } from './harness.ts';

/*
 * The network lab's sweep as bench metrics: real sessions between two namespaces, loss 0–30%
 * each way and the Gilbert–Elliott WLAN preset, reliable and partial, inpainting and VQA.
 * Needs root (skipped with one line otherwise). UNIMIC_LAB_REPS sessions per point (default 5;
 * the robustness goals want ≥ 20), UNIMIC_LAB_LINKS / _TASKS / _MODES override the sweep.
 */

export const labSuite: Suite = {
  name: 'lab',
  async run(report) {
    const notRoot = requireRoot();
    if (notRoot) {
      process.stderr.write(`lab: skipped (${notRoot})\n`);
      return;
    }
    const spec = parseSweep({
      tasks: process.env.UNIMIC_LAB_TASKS ?? 'inpaint,vqa',
      links: process.env.UNIMIC_LAB_LINKS ?? 'loss:0,loss:5,loss:10,loss:20,loss:30,ge:wlan',
      modes: process.env.UNIMIC_LAB_MODES ?? 'reliable,partial',
      seeds: '1',
      reps: process.env.UNIMIC_LAB_REPS ?? '5',
    });
    const outDir = mkdtempSync(path.join(tmpdir(), 'unimic-bench-lab-'));
    const result = await runLab({ spec, outDir, prefix: 'umlabb', addresses: ['10.213.13.1', '10.213.13.2'], onRecord: () => undefined });
    process.stderr.write(`\nlab: records and figures in ${outDir}\n`);
    for (const m of result.metrics) report({ name: m.name, value: m.value, unit: m.unit });
  },
};
