import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bpeDecode, bpeEncode, buildSchedule } from '@unimic/protocol';
import { ImageTokenizer, MaskedEntropyModel, UNKNOWN, loadPack, type LoadedPack, type PlanarImage } from '@unimic/models';
import { folderReader, nativeRuntime } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { UnifiedModel, generateImage } from '@unimic/cloud-peer';
import { fillUnknown } from '@unimic/edge-peer';
import { SceneClassifier, scoreReadings, type AttributeScores, type SceneReading } from '../eval/scene-classifier.ts';
import { loadHeldOutScenes, type HeldOutScene } from '../eval/scenes.ts';
import { median, type Metric, type Suite } from './harness.ts';

/*
 * The cloud model (the cloud pack's unified Transformer) on the tasks of issue 4, from TypeScript:
 * VQA accuracy on held-out scenes next to majority-answer baselines; text-to-image attribute
 * accuracy read by the scene classifier, next to the same readings scored against another
 * scene's caption (chance); the classifier's own accuracy on tokenizer reconstructions; inpainting
 * and outpainting PSNR on Kodak against the tokenizer's reconstruction, next to filling with the
 * masked entropy model's argmax; quality when generation starts from the first k of 8 upload
 * stages; latency per step and per task. Sizes (env): BENCH_CLOUD_SCENES (VQA, default 100),
 * BENCH_CLOUD_T2I (default 48), BENCH_CLOUD_KODAK (default 24).
 */

const root = path.resolve(import.meta.dirname, '..');
const packDir = process.env.UNIMIC_PACK ?? path.join(root, 'models/default');
const cloudDir = process.env.UNIMIC_CLOUD_PACK ?? path.join(root, 'models/cloud');
const kodak: Int32Array[] = Object.values(JSON.parse(readFileSync(path.join(root, 'test/fixtures/kodak-grids.json'), 'utf8')).grids as Record<string, number[]>).map((g) => Int32Array.from(g));
const envInt = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const STEPS = 8;
const GREEDY_T = 0.1;
const GUIDANCE = 3;
const SIDE = 16;

/** Centre 8x8 cells: the inpainting hole. */
const HOLE = Uint16Array.from({ length: SIDE * SIDE }, (_, i) => i).filter((i) => (i >> 4) >= 4 && (i >> 4) < 12 && (i & 15) >= 4 && (i & 15) < 12);
/** Right 8 columns: outpainting "extend right by 8" seen in the model's 16x16 window. */
const RIGHT = Uint16Array.from({ length: SIDE * SIDE }, (_, i) => i).filter((i) => (i & 15) >= 8);

export interface CloudEval {
  unified: UnifiedModel;
  masked: MaskedEntropyModel;
  tokenizer: ImageTokenizer;
  classifier?: SceneClassifier;
  cloudPack: LoadedPack;
}

export async function openCloudEval(): Promise<CloudEval | undefined> {
  if (!existsSync(path.join(cloudDir, 'manifest.json'))) return undefined;
  const pack = await loadPack(folderReader(packDir));
  const cloudPack = await loadPack(folderReader(cloudDir));
  const runtime = nativeRuntime(2);
  return {
    unified: await UnifiedModel.fromPack(cloudPack, runtime),
    masked: await MaskedEntropyModel.fromPack(pack, 'masked', wasmRuntime()),
    tokenizer: await ImageTokenizer.create(pack, runtime),
    ...(cloudPack.files.has('eval.scene-classifier') ? { classifier: await SceneClassifier.fromPack(cloudPack, runtime) } : {}),
    cloudPack,
  };
}

/** Where scenes.py's captions put an object (its POS_PHRASE). */
const POSITION_PHRASES = ['on the left', 'on the right', 'at the top', 'at the bottom', 'in the centre'];

/** The scene's caption that places every object, if it has one (the only template of scenes.py with positions). */
export function placingCaption(s: HeldOutScene): string | undefined {
  return s.captions.find((c) => POSITION_PHRASES.some((p) => c.includes(p)));
}

/** Greedy answer as text, and the time to each token. */
export async function ask(model: UnifiedModel, grid: Int32Array, question: string): Promise<{ text: string; ms: number[] }> {
  const ids: number[] = [];
  const ms: number[] = [];
  const t0 = performance.now();
  for await (const piece of model.answer(grid, Array.from(bpeEncode(question)), 0)) {
    ids.push(...piece);
    ms.push(performance.now() - t0);
  }
  return { text: bpeDecode(Uint32Array.from(ids)).trim(), ms };
}

/** Runs MaskGIT over `target` with the rest of `context`; the full grid and each step's time. */
export async function generate(model: UnifiedModel, context: Int32Array, target: Uint16Array, seed: number, text?: string, temperature = 1, guidance = 0): Promise<{ grid: Int32Array; stepMs: number[] }> {
  const grid = Int32Array.from(context);
  for (const p of target) grid[p] = UNKNOWN;
  const ctx = Int32Array.from(grid);
  const stepMs: number[] = [];
  let t = performance.now();
  for await (const step of generateImage(model, { target, context: () => ctx, steps: STEPS, seed, temperature, guidance, ...(text ? { text: Array.from(bpeEncode(text)) } : {}) })) {
    step.positions.forEach((p, j) => (grid[p] = step.tokens[j] as number));
    stepMs.push(performance.now() - t);
    t = performance.now();
  }
  return { grid, stepMs };
}

/** PSNR over the pixels of the given cells (8x8 pixels per cell at the default pack's scale). */
export function regionPsnr(a: PlanarImage, b: PlanarImage, cells: ArrayLike<number>): number {
  const scale = a.width / SIDE;
  const n = a.width * a.height;
  let se = 0;
  let count = 0;
  const q = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  for (const cell of Array.from(cells)) {
    const cy = (cell >> 4) * scale;
    const cx = (cell & 15) * scale;
    for (let y = cy; y < cy + scale; y++)
      for (let x = cx; x < cx + scale; x++)
        for (let c = 0; c < 3; c++) {
          const d = q(a.data[c * n + y * a.width + x] as number) - q(b.data[c * n + y * a.width + x] as number);
          se += d * d;
          count++;
        }
  }
  return se === 0 ? 99 : 10 * Math.log10((255 * 255 * count) / se);
}

/** The context cells sent in the first k of 8 upload stages (cosine schedule over the grid). */
export function firstStages(grid: Int32Array, k: number, seed: number, only?: ArrayLike<number>): Int32Array {
  const allowed = only ? new Set(Array.from(only)) : undefined;
  const sched = buildSchedule({ width: SIDE, height: SIDE, stages: STEPS, kind: 'cosine', seed });
  const out = new Int32Array(grid.length).fill(UNKNOWN);
  for (const positions of sched.stages.slice(0, k)) for (const p of positions) if (!allowed || allowed.has(p)) out[p] = grid[p] as number;
  return out;
}

const reading = (s: HeldOutScene): SceneReading => ({ regions: s.regions, background: s.background });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export const cloudSuite: Suite = {
  name: 'cloud',
  async run(report) {
    const ev = await openCloudEval();
    if (!ev) {
      report({ name: 'cloud.skipped', value: 1, unit: 'flag', note: `no cloud pack in ${cloudDir}` });
      return;
    }
    const { unified, masked, tokenizer, classifier } = ev;
    const scenes = loadHeldOutScenes();
    const spec = JSON.parse(new TextDecoder().decode(ev.cloudPack.files.get('eval.scenes.spec'))) as { vqa_baselines: { test: { overall_majority_answer: string; per_type: Record<string, { majority: string }> } } };

    // VQA on held-out scenes, full images, and from the first k upload stages
    const vqaScenes = scenes.slice(0, envInt('BENCH_CLOUD_SCENES', 100));
    const majority = spec.vqa_baselines.test;
    const answerMs: number[] = [];
    const tokenMs: number[] = [];
    for (const k of [8, 4, 2, 1]) {
      let ok = 0, n = 0, maj = 0, typeMaj = 0;
      const perType = new Map<string, [number, number]>();
      for (const s of k === 8 ? vqaScenes : vqaScenes.slice(0, 25)) {
        const grid = k === 8 ? s.grid : firstStages(s.grid, k, s.index);
        for (const [q, a, type] of s.qa) {
          const got = await ask(unified, grid, q);
          if (k === 8) answerMs.push(got.ms.at(-1) ?? 0), tokenMs.push(got.ms[0] ?? 0);
          n++;
          if (got.text === a) ok++;
          if (a === majority.overall_majority_answer) maj++;
          if (a === majority.per_type[type]?.majority) typeMaj++;
          const t = perType.get(type) ?? [0, 0];
          perType.set(type, [t[0] + (got.text === a ? 1 : 0), t[1] + 1]);
        }
      }
      if (k === 8) {
        report({ name: 'cloud.vqa_accuracy', value: +(ok / n).toFixed(4), unit: 'ratio', note: `${n} held-out questions (${vqaScenes.length} scenes), greedy, exact answer` });
        report({ name: 'cloud.vqa_majority_baseline', value: +(maj / n).toFixed(4), unit: 'ratio', note: `always "${majority.overall_majority_answer}" (training majority), same questions` });
        report({ name: 'cloud.vqa_type_majority_baseline', value: +(typeMaj / n).toFixed(4), unit: 'ratio', note: 'the training majority answer of each question type' });
        for (const [type, [a, b]] of [...perType].sort()) report({ name: `cloud.vqa_accuracy.${type}`, value: +(a / b).toFixed(3), unit: 'ratio', note: `${b} questions` });
      } else {
        report({ name: `cloud.vqa_accuracy.first_${k}_of_8_stages`, value: +(ok / n).toFixed(4), unit: 'ratio', note: `${n} questions; image tokens of upload stages < ${k} only` });
      }
    }
    report({ name: 'cloud.vqa_answer_ms', value: +median(answerMs).toFixed(1), unit: 'ms', note: 'median per question, all answer tokens (one backbone pass each + EOS pass)' });
    report({ name: 'cloud.vqa_first_token_ms', value: +median(tokenMs).toFixed(1), unit: 'ms', note: 'median time to the first answer token' });

    // the classifier on tokenizer reconstructions of held-out scenes (its own accuracy)
    if (classifier) {
      const recon: SceneReading[] = [];
      for (const s of scenes) recon.push(await classifier.read(await tokenizer.decode({ width: SIDE, height: SIDE, tokens: s.grid })));
      const sc = scoreReadings(recon, scenes.map(reading));
      reportScores(report, 'cloud.classifier_on_reconstructions', sc, `${scenes.length} held-out scenes decoded from their tokens`);
      const py = (ev.cloudPack.manifest.training?.scene_classifier as { eval?: Record<string, unknown> } | undefined)?.eval;
      const raw = py?.test_renders as Record<string, number> | undefined;
      if (raw?.object_all_acc !== undefined) report({ name: 'cloud.classifier_on_renders.object_all_acc', value: +raw.object_all_acc.toFixed(4), unit: 'ratio', note: 'training/scene_classifier.py on 1,000 raw test renders (from the manifest)' });
      const shuffled = py?.shuffled_baseline_renders as Record<string, number> | undefined;
      if (shuffled?.object_all_acc !== undefined) report({ name: 'cloud.classifier_on_renders.chance_object_all_acc', value: +shuffled.object_all_acc.toFixed(4), unit: 'ratio', note: 'its readings of another scene (chance level)' });
    }

    // text-to-image: attributes read by the classifier. The per-region scores (shape, colour of the
    // object at left/right/top/bottom/centre) are only well posed when the prompt says where each object
    // is, so the prompt is the scene's caption that places every object; pair recall ((shape, colour)
    // anywhere) does not depend on it.
    const t2iScenes = scenes.filter((s) => placingCaption(s) !== undefined).slice(0, envInt('BENCH_CLOUD_T2I', 48));
    const stepMs: number[] = [];
    const taskMs: Record<string, number[]> = { t2i: [], inpaint: [], outpaint: [] };
    const t2iReadings: SceneReading[] = [];
    for (const [i, s] of t2iScenes.entries()) {
      const t0 = performance.now();
      const { grid, stepMs: ms } = await generate(unified, new Int32Array(SIDE * SIDE).fill(UNKNOWN), Uint16Array.from({ length: SIDE * SIDE }, (_, j) => j), i, placingCaption(s));
      taskMs.t2i!.push(performance.now() - t0);
      stepMs.push(...ms);
      if (classifier) t2iReadings.push(await classifier.read(await tokenizer.decode({ width: SIDE, height: SIDE, tokens: grid })));
    }
    if (classifier) {
      const truth = t2iScenes.map(reading);
      reportScores(report, 'cloud.t2i', scoreReadings(t2iReadings, truth), `${t2iScenes.length} held-out captions that place every object, ${STEPS} steps, classifier on the decoded image`);
      const shuffled = truth.map((_, i) => truth[(i + 1) % truth.length] as SceneReading);
      reportScores(report, 'cloud.t2i_chance', scoreReadings(t2iReadings, shuffled), 'the same readings scored against the next scene (chance level)');
      // classifier-free guidance, same captions and seeds
      const guided: SceneReading[] = [];
      for (const [i, s] of t2iScenes.entries()) {
        const { grid } = await generate(unified, new Int32Array(SIDE * SIDE).fill(UNKNOWN), Uint16Array.from({ length: SIDE * SIDE }, (_, j) => j), i, placingCaption(s), 1, GUIDANCE);
        guided.push(await classifier.read(await tokenizer.decode({ width: SIDE, height: SIDE, tokens: grid })));
      }
      reportScores(report, `cloud.t2i_guided_g${GUIDANCE}`, scoreReadings(guided, truth), `classifier-free guidance ${GUIDANCE} (two passes per step), same captions and seeds`);
      reportScores(report, `cloud.t2i_guided_g${GUIDANCE}_chance`, scoreReadings(guided, shuffled), 'the same readings against the next scene');
    }

    // inpainting and outpainting on Kodak, against the tokenizer's reconstruction of the original
    const kodakN = kodak.slice(0, envInt('BENCH_CLOUD_KODAK', 24));
    for (const [task, cells] of [['inpaint', HOLE], ['outpaint', RIGHT]] as const) {
      const gen: number[] = [];
      const cool: number[] = [];
      const base: number[] = [];
      const partial = new Map<number, number[]>();
      for (const [n, g] of kodakN.entries()) {
        const ref = await tokenizer.decode({ width: SIDE, height: SIDE, tokens: g });
        const t0 = performance.now();
        const out = await generate(unified, g, cells, n);
        taskMs[task]!.push(performance.now() - t0);
        stepMs.push(...out.stepMs);
        gen.push(regionPsnr(await tokenizer.decode({ width: SIDE, height: SIDE, tokens: out.grid }), ref, cells));
        // near-greedy sampling: the model's most likely completion, what PSNR rewards
        const greedy = await generate(unified, g, cells, n, undefined, GREEDY_T);
        cool.push(regionPsnr(await tokenizer.decode({ width: SIDE, height: SIDE, tokens: greedy.grid }), ref, cells));
        const holed = Int32Array.from(g);
        for (const p of cells) holed[p] = UNKNOWN;
        base.push(regionPsnr(await tokenizer.decode({ width: SIDE, height: SIDE, tokens: await fillUnknown(masked, holed) }), ref, cells));
        if (task === 'inpaint' && n < 12) {
          const keep = Array.from({ length: SIDE * SIDE }, (_, i) => i).filter((i) => !HOLE.includes(i));
          for (const k of [1, 2, 4]) {
            const o = await generate(unified, firstStages(g, k, n, keep), cells, n, undefined, GREEDY_T);
            // the edge holds its whole image: only the hole comes from the cloud
            const merged = Int32Array.from(g);
            for (const p of cells) merged[p] = o.grid[p] as number;
            const list = partial.get(k) ?? [];
            list.push(regionPsnr(await tokenizer.decode({ width: SIDE, height: SIDE, tokens: merged }), ref, cells));
            partial.set(k, list);
          }
          partial.set(8, [...(partial.get(8) ?? []), cool.at(-1) as number]);
        }
      }
      report({ name: `cloud.${task}_psnr_db`, value: +mean(gen).toFixed(2), unit: 'dB', note: `Kodak ×${kodakN.length}, ${cells.length} cells generated (${STEPS} steps), vs the tokenizer's reconstruction, region only` });
      report({ name: `cloud.${task}_psnr_db.t${GREEDY_T}`, value: +mean(cool).toFixed(2), unit: 'dB', note: `the same at temperature ${GREEDY_T} (near-greedy)` });
      report({ name: `cloud.${task}_argmax_baseline_psnr_db`, value: +mean(base).toFixed(2), unit: 'dB', note: 'same cells filled with the masked entropy model argmax' });
      for (const [k, v] of [...partial].sort((a, b) => a[0] - b[0])) report({ name: `cloud.inpaint_psnr_db.first_${k}_of_8_stages`, value: +mean(v).toFixed(2), unit: 'dB', note: `Kodak ×${v.length}, temperature ${GREEDY_T}: context = upload stages < ${k}` });
    }
    report({ name: 'cloud.step_ms', value: +median(stepMs).toFixed(1), unit: 'ms', note: 'median MaskGIT step: backbone + head on open cells + sampling (onnxruntime-node, 2 threads)' });
    for (const [task, ms] of Object.entries(taskMs)) report({ name: `cloud.${task}_ms`, value: +median(ms).toFixed(0), unit: 'ms', note: `median ${STEPS}-step generation` });
  },
};

function reportScores(report: (m: Metric) => void, prefix: string, s: AttributeScores, note: string) {
  report({ name: `${prefix}.object_all_acc`, value: +s.objectAll.toFixed(4), unit: 'ratio', note: `${note}: objects with right shape, colour and size in their region` });
  report({ name: `${prefix}.region_shape_acc`, value: +s.regionShape.toFixed(4), unit: 'ratio', note: 'regions right about empty / which shape' });
  report({ name: `${prefix}.object_colour_acc`, value: +s.objectColour.toFixed(4), unit: 'ratio', note: 'object colour in its region' });
  report({ name: `${prefix}.pair_recall`, value: +s.pairRecall.toFixed(4), unit: 'ratio', note: '(shape, colour) pairs of the reference found anywhere' });
  report({ name: `${prefix}.background_acc`, value: +s.background.toFixed(4), unit: 'ratio', note: 'background colour' });
}
