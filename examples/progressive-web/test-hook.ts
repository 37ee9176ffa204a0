/**
 * `window.unimic`, what test/web-page.test.ts drives: ready, run(options), textBytes(text), last, tasks.
 * The page also shows its state in data attributes: `data-state` on the status pill, `data-value` on
 * the counters, `data-frames` on the output, `data-answer` on the answer, `data-tasks` on the body.
 */
import { bpeEncode, compressText, type ExtensionSide, type TaskName } from '@unimic/protocol';
import { ui } from './dom.ts';
import { drawOverlay, pickSample, selectSide, selectTask, syncRanges } from './controls.ts';
import { runFromForm, type RunSummary } from './runs.ts';
import { page, setRegion } from './state.ts';

export interface RunOptions {
  readonly task: TaskName;
  /** A sample's file name (examples/samples); default: the image already shown. */
  readonly sample?: string;
  readonly prompt?: string;
  readonly question?: string;
  readonly side?: ExtensionSide;
  readonly amount?: number;
  readonly steps?: number;
  readonly startAfter?: number;
  /** Inpainting cells (0..255, raster order of the 16x16 grid); default: the region drawn. */
  readonly region?: readonly number[];
}

/** Fills the form as a user would, then runs it. */
async function hookRun(ready: Promise<unknown>, o: RunOptions): Promise<RunSummary> {
  await ready;
  selectTask(o.task);
  if (o.sample) await pickSample(o.sample);
  if (o.prompt !== undefined) ui.prompt.value = o.prompt;
  if (o.question !== undefined) ui.question.value = o.question;
  if (o.side) selectSide(o.side);
  if (o.amount !== undefined) ui.amount.value = String(o.amount);
  if (o.steps !== undefined) ui.steps.value = String(o.steps);
  if (o.startAfter !== undefined) ui.startAfter.value = String(o.startAfter);
  if (o.region) setRegion(o.region);
  syncRanges();
  drawOverlay();
  return runFromForm();
}

export function installTestHook(ready: Promise<{ tasks: TaskName[] }>): void {
  (globalThis as unknown as { unimic: unknown }).unimic = {
    ready,
    run: (o: RunOptions) => hookRun(ready, o),
    /** The bytes this tab makes of a text (BPE ids, Brotli): the tests compare them with Node's. */
    textBytes: (text: string) => ({ bpe: Array.from(bpeEncode(text)), brotli: Array.from(compressText(text)) }),
    get last() {
      return page.last;
    },
    get tasks() {
      return page.cloudTasks;
    },
  };
}
