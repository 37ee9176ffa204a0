/**
 * `npm start` — the UniMIC-RTC tour on loopback: a signaling server, a cloud worker and an edge,
 * connected by WebRTC (werift) through it, with the default model pack and the cloud pack. Each
 * task runs on a bundled sample image (Kodak, or a held-out procedural scene for text-to-image and
 * VQA: the cloud model's text skills are learnt on scenes), twice: with the cloud starting after the first upload
 * stages (early start), and waiting for every token. Prints one table, writes one PNG strip of the
 * progressive frames per task.
 *
 *   npm start [-- --out DIR] [-- --early K]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { downscaleAndCrop, type PlanarImage } from '@unimic/models';
import { readPng, toPng } from '@unimic/models/node';
import type { EdgeEvent, EdgeTask } from '@unimic/edge-peer';
import { ROOT, runTask, startLocalStack, strip, type TaskRun } from './local-stack.ts';
import { timelineSvg } from './timeline-svg.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? (args[i + 1] as string) : def;
};
const outDir = path.resolve(opt('out', path.join(ROOT, 'out/demo')));
const early = Number(opt('early', '3'));
mkdirSync(outDir, { recursive: true });

const t0 = performance.now();
const log = (s: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${s}\n`);
log('loading the default pack; starting signaling and the edge here, the cloud worker as its own process, on loopback…');
const stack = await startLocalStack({ readiness: { afterStages: early, deadlineMs: 30_000 }, cloudProcess: true });
log(`session ${stack.edge.session} open in ${stack.edge.setupMs.toFixed(0)} ms (signaling → WebRTC → protocol open)`);

const sample = async (name: string) => downscaleAndCrop(await readPng(path.join(ROOT, 'examples/samples', name)), 1, 128);
const gridOf = async (img: PlanarImage) => (await stack.tokenizer.encode(img)).tokens;
const center = Array.from({ length: 256 }, (_, i) => i).filter((i) => i % 16 >= 4 && i % 16 < 12 && i >> 4 >= 4 && i >> 4 < 12);

interface Tour {
  name: string;
  input?: PlanarImage;
  task: Omit<EdgeTask, 'requestId'>;
}
const parrots = await sample('kodim23.png');
const hats = await sample('kodim04.png');
const beach = await sample('kodim12.png');
const scene = await sample('scene-test5.png');
const tours: Tour[] = [
  { name: 'inpaint', input: parrots, task: { task: 'inpaint', grid: await gridOf(parrots), region: center, steps: 8 } },
  { name: 'outpaint', input: beach, task: { task: 'outpaint', grid: await gridOf(beach), outpaint: { side: 'right', amount: 8 }, steps: 8 } },
  { name: 't2i', task: { task: 't2i', text: 'a large red circle on the left and a small blue square at the top on a white background', steps: 8 } },
];
if (stack.edge.cloud.capabilities.tasks.includes('vqa')) {
  tours.push({ name: 'vqa', input: scene, task: { task: 'vqa', grid: await gridOf(scene), text: 'how many objects are there?' } });
} else {
  log('this cloud has no VQA model (no cloud pack in models/cloud): skipping VQA');
}

const rows: string[][] = [];
let requestId = 1;
log('warm-up request (the first model runs of each peer compile the wasm kernels)…');
await runTask(stack, { task: 'inpaint', requestId: requestId++, grid: await gridOf(hats), region: center.slice(0, 8), steps: 1 });
for (const tour of tours) {
  log(`${tour.name}: early start (cloud begins after upload stage ${early} of 8)…`);
  const fast = await runTask(stack, { ...tour.task, requestId: requestId++, startAfter: early } as EdgeTask, (e, ms) => {
    if (e.type === 'step') log(`  step ${e.step + 1}: ${e.cells} tokens decoded at ${ms.toFixed(0)} ms`);
    if (e.type === 'answer') log(`  answer so far: ${JSON.stringify(e.text)}`);
  });
  log(`${tour.name}: waiting for every token…`);
  const full = await runTask(stack, { ...tour.task, requestId: requestId++, startAfter: 8 } as EdgeTask);
  rows.push(row(tour, fast, full));
  await writeStrip(tour, fast);
}

function row(tour: Tour, fast: TaskRun, full: TaskRun): string[] {
  const pixels = 128 * 128;
  return [
    tour.name,
    String(fast.bytesUp),
    String(fast.bytesDown),
    ((fast.bytesUp * 8) / pixels).toFixed(4),
    ((fast.bytesDown * 8) / pixels).toFixed(4),
    String(fast.controlBytes),
    `${fast.upStagesUsed}/8`,
    fast.firstPreviewMs.toFixed(0),
    fast.finalMs.toFixed(0),
    full.finalMs.toFixed(0),
    answerOf(fast),
  ];
}

function answerOf(run: TaskRun): string {
  const last = run.events.filter((e) => e.type === 'answer').at(-1);
  return last && last.type === 'answer' ? JSON.stringify(last.text) : '';
}

async function writeStrip(tour: Tour, run: TaskRun) {
  const steps = run.events.filter((e): e is Extract<EdgeEvent, { type: 'step' }> => e.type === 'step');
  const frames: PlanarImage[] = [];
  if (tour.input) frames.push(tour.input);
  for (const s of steps) frames.push(await stack.renderer.render(s.grid));
  const file = path.join(outDir, `${tour.name}.png`);
  writeFileSync(file, toPng(strip(frames)));
  const timeline = path.join(outDir, `${tour.name}-timeline.svg`);
  writeFileSync(timeline, timelineSvg({ title: `${tour.name}: early start, ${run.bytesUp} B up, ${run.bytesDown} B down`, edge: run.events, cloud: run.cloudEvents, origin: run.startedAt }));
  log(`${tour.name}: ${frames.length} frames → ${path.relative(process.cwd(), file)}, timeline → ${path.relative(process.cwd(), timeline)}`);
}

const header = ['task', 'bytes up', 'bytes down', 'bpp up', 'bpp down', 'control B', 'stages', 'first preview ms', 'final ms', 'final ms (wait all)', 'answer'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === header.length - 1 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
console.log(`\nUniMIC-RTC on loopback — pack ${stack.pack.manifest.id}, ${stack.models.list.map((m) => m.name).join(' + ')} entropy models, bpp over 128x128 pixels (token chunks; control B: the request's control messages)`);
console.log(line(header));
console.log(widths.map((w) => '─'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
console.log(`\nprogressive frames (input first, then one frame per generation step) and each request's timeline (SVG): ${path.relative(process.cwd(), outDir)}/`);
await stack.close();
process.exit(0);
