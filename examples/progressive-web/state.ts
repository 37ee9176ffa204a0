/** The page's state (what is loaded, chosen and running) and the status pill that shows it. */
import type { PlanarImage } from '@unimic/models';
import type { ExtensionSide, TaskName } from '@unimic/protocol';
import { SIDE, ui } from './dom.ts';
import type { Edge } from './edge.ts';
import type { RunSummary } from './runs.ts';

/** The status pill's `data-state`. */
export type State = 'loading' | 'connecting' | 'ready' | 'running' | 'done' | 'error';

export interface InputImage {
  readonly name: string;
  readonly planar: PlanarImage;
  /** Its tokens, once encoded. */
  grid: Int32Array | null;
}

export interface Page {
  edge: Edge | null;
  cloudTasks: TaskName[];
  task: TaskName;
  side: ExtensionSide;
  image: InputImage | null;
  /** Inpainting cells, raster order of the token grid. */
  readonly region: Set<number>;
  nextRequest: number;
  busy: boolean;
  last: RunSummary | null;
}

// one object, not module-level lets: the other modules assign to it
export const page: Page = { edge: null, cloudTasks: [], task: 'inpaint', side: 'right', image: null, region: new Set(), nextRequest: 1, busy: false, last: null };

export function setState(s: State, text: string) {
  ui.status.dataset.state = s;
  ui.statusText.textContent = text;
  ui.run.disabled = s === 'loading' || s === 'connecting' || s === 'running' || page.edge === null;
}

export function setRegion(cells: Iterable<number>) {
  page.region.clear();
  for (const c of cells) page.region.add(c);
}

export function centreRegion() {
  page.region.clear();
  for (let y = 4; y < 12; y++) for (let x = 4; x < 12; x++) page.region.add(y * SIDE + x);
}

/** The input's tokens (encoded once per image, on onnxruntime-web). */
export async function inputGrid(): Promise<Int32Array> {
  const { image, edge } = page;
  if (!image) throw new Error('pick or upload an image first');
  if (!edge) throw new Error('models not loaded');
  if (!image.grid) image.grid = (await edge.tokenizer.encode(image.planar)).tokens;
  return image.grid;
}
