import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EdgeTask } from '@unimic/edge-peer';
import { DEFAULT_PACK, runTask, startLocalStack, type TaskRun } from '../examples/local-stack.ts';
import { median, type Suite } from './harness.ts';

/*
 * Whole requests on the embedded default (signaling + cloud + edge on loopback, werift, the
 * default pack), early start vs waiting for every token measured side by side in one run. Both
 * peers share this process, so model time and protocol time add up on one thread: the protocol
 * share is 1 − model time / end-to-end time.
 */

const root = path.resolve(import.meta.dirname, '..');
const kodak: Record<string, number[]> = JSON.parse(readFileSync(path.join(root, 'test/fixtures/kodak-grids.json'), 'utf8')).grids;
const REPS = Number(process.env.UNIMIC_BENCH_REPS ?? 3);

export const sessionSuite: Suite = {
  name: 'session',
  async run(report) {
    const manifest = path.join(DEFAULT_PACK, 'manifest.json');
    if (!existsSync(manifest) || !readFileSync(manifest, 'utf8').includes('"entropy.masked.backbone"')) {
      process.stderr.write('session: the pack has no masked entropy model, skipped\n');
      return;
    }
    // the cloud in its own process (as deployed: edge and cloud do not share a core)
    const stack = await startLocalStack({ readiness: { afterStages: 2, deadlineMs: 60_000 }, cloudProcess: true });
    report({ name: 'session.setup_ms', value: +stack.edge.setupMs.toFixed(1), unit: 'ms', note: 'signaling connect → WebRTC → protocol open' });
    const grid = Int32Array.from(kodak['kodim21.png'] as number[]);
    const region = Array.from({ length: 256 }, (_, i) => i).filter((i) => i % 16 >= 4 && i % 16 < 12 && i >> 4 >= 4 && i >> 4 < 12);
    const tasks: Record<string, Omit<EdgeTask, 'requestId'>> = {
      inpaint: { task: 'inpaint', grid, region, steps: 8 },
      outpaint: { task: 'outpaint', grid, outpaint: { side: 'right', amount: 8 }, steps: 8 },
      t2i: { task: 't2i', text: 'a lighthouse on a rocky coast', steps: 8 },
    };
    if (stack.edge.cloud.capabilities.tasks.includes('vqa')) tasks.vqa = { task: 'vqa', grid, text: 'what is in the picture?' };
    // the same stack without the first-preview policies, side by side: every stage coded with the
    // learned model, and the edge coding its whole upload before it decodes any step
    const plain = await startLocalStack({ readiness: { afterStages: 2, deadlineMs: 60_000 }, cloudProcess: true, contextFreeMaxCells: 0, downstreamFirst: false });
    let id = 100;
    await runTask(stack, { ...(tasks.inpaint as EdgeTask), requestId: id++ }); // warm-up
    await runTask(plain, { ...(tasks.inpaint as EdgeTask), requestId: id++ });
    const early: Record<string, TaskRun[]> = {};
    const full: Record<string, TaskRun[]> = {};
    const plainInpaint: TaskRun[] = [];
    for (let r = 0; r < REPS; r++) {
      for (const [name, t] of Object.entries(tasks)) {
        (early[name] ??= []).push(await runTask(stack, { ...t, requestId: id++, startAfter: 2 } as EdgeTask));
        (full[name] ??= []).push(await runTask(stack, { ...t, requestId: id++, startAfter: 8 } as EdgeTask));
      }
      plainInpaint.push(await runTask(plain, { ...(tasks.inpaint as EdgeTask), requestId: id++, startAfter: 2 } as EdgeTask));
    }
    await plain.close();
    // fewer upload stages: fewer chunk headers, later first previews
    const byStages = new Map<number, TaskRun[]>();
    for (let r = 0; r < REPS; r++)
      for (const stages of [1, 2, 4])
        byStages.set(stages, [...(byStages.get(stages) ?? []), await runTask(stack, { ...(tasks.inpaint as EdgeTask), requestId: id++, startAfter: Math.min(2, stages), schedule: { kind: 'cosine', stages, seed: id } } as EdgeTask)]);
    const med = (runs: TaskRun[], f: (r: TaskRun) => number) => median(runs.map(f));
    for (const name of Object.keys(tasks)) {
      const e = early[name] as TaskRun[];
      const f = full[name] as TaskRun[];
      report({ name: `session.${name}.bytes_up`, value: med(e, (r) => r.bytesUp), unit: 'B', note: 'token chunks, headers included' });
      report({ name: `session.${name}.bytes_down`, value: med(e, (r) => r.bytesDown), unit: 'B' });
      report({ name: `session.${name}.control_bytes`, value: med(e, (r) => r.controlBytes), unit: 'B', note: 'control messages of the request, both ways' });
      report({ name: `session.${name}.first_preview_ms`, value: +med(e, (r) => r.firstPreviewMs).toFixed(0), unit: 'ms', note: 'early start (after upload stage 2 of 8)' });
      report({ name: `session.${name}.final_ms`, value: +med(e, (r) => r.finalMs).toFixed(0), unit: 'ms', note: 'early start' });
      report({ name: `session.${name}.final_ms_wait_all`, value: +med(f, (r) => r.finalMs).toFixed(0), unit: 'ms', note: 'cloud waits for every upload token' });
    }
    const inp = early.inpaint as TaskRun[];
    report({ name: 'session.first_preview_over_full', value: +med(inp, (r) => r.firstPreviewMs / r.finalMs).toFixed(3), unit: 'ratio', goal: { op: '<=', value: 0.25 }, note: 'inpainting, 8 upload stages, 8 steps' });
    report({ name: 'session.first_preview_over_full.plain', value: +med(plainInpaint, (r) => r.firstPreviewMs / r.finalMs).toFixed(3), unit: 'ratio', note: 'same, side by side: no context-free small stages, upload coded before any step is decoded' });
    report({ name: 'session.inpaint.first_preview_ms.plain', value: +med(plainInpaint, (r) => r.firstPreviewMs).toFixed(0), unit: 'ms' });
    report({ name: 'session.inpaint.final_ms.plain', value: +med(plainInpaint, (r) => r.finalMs).toFixed(0), unit: 'ms' });
    report({ name: 'session.inpaint.bytes.plain', value: med(plainInpaint, (r) => r.bytesUp + r.bytesDown), unit: 'B', note: `up + down; with the policies: ${med(inp, (r) => r.bytesUp + r.bytesDown)} B` });
    for (const [stages, runs] of byStages) {
      report({ name: `session.framing_overhead.inpaint_${stages}_stages`, value: +med(runs, (r) => r.framingOverhead).toFixed(3), unit: 'ratio', note: `${stages} upload stage(s) + 8 steps down` });
      report({ name: `session.first_preview_over_full.inpaint_${stages}_stages`, value: +med(runs, (r) => r.firstPreviewMs / r.finalMs).toFixed(3), unit: 'ratio', note: `final ${med(runs, (r) => r.finalMs).toFixed(0)} ms` });
    }
    const gains = Object.keys(tasks).filter((n) => n !== 't2i').map((n) => 1 - med(early[n] as TaskRun[], (r) => r.finalMs) / med(full[n] as TaskRun[], (r) => r.finalMs));
    report({ name: 'session.early_start_gain', value: +median(gains).toFixed(3), unit: 'ratio', goal: { op: '>=', value: 0.01 }, note: '1 − final(early) / final(wait all), median over tasks with an upload' });
    const all = Object.values(early).flat();
    report({ name: 'session.framing_overhead', value: +median(all.map((r) => r.framingOverhead)).toFixed(3), unit: 'ratio', goal: { op: '<=', value: 0.05 }, note: 'chunk header bytes / payload bytes, 8 stages up, 8 steps down' });
    report({ name: 'session.wire_overhead', value: +median(all.map((r) => r.wireOverhead)).toFixed(3), unit: 'ratio', note: '(chunk headers + control messages) / token payload bytes' });
    report({ name: 'session.edge_model_share', value: +median(all.map((r) => r.modelMs / r.finalMs)).toFixed(3), unit: 'ratio', note: "edge's model time (upload coding, step decoding; wall time with a run in flight) / end-to-end" });
    report({ name: 'session.cloud_model_share', value: +median(all.map((r) => r.cloudModelMs / r.finalMs)).toFixed(3), unit: 'ratio', note: "cloud's model time (upload decoding on its thread, generation on a worker thread, step coding; wall time with any run in flight: its result.modelMs) / end-to-end" });
    // the peers run in parallel, so the time outside model runs lies between two bounds
    report({ name: 'session.protocol_share', value: +median(all.map((r) => 1 - Math.max(r.modelMs, r.cloudModelMs) / r.finalMs)).toFixed(3), unit: 'ratio', note: 'upper bound: 1 − max(edge, cloud model time) / end-to-end' });
    report({ name: 'session.protocol_share_min', value: +median(all.map((r) => r.protocolMs / r.finalMs)).toFixed(3), unit: 'ratio', note: 'lower bound: 1 − (edge + cloud model time) / end-to-end, ≥ 0' });
    await stack.close();
  },
};
