/** The page's elements and the small helpers every part of it draws and fetches with. */
import type { PlanarImage } from '@unimic/models';
import type { TaskName } from '@unimic/protocol';

export const SIDE = 16; // token grid side of the default pack (128 px / 8)
export const PX = 128;
export const PIXELS = PX * PX;
export const TASK_LABEL: Record<TaskName, string> = { inpaint: 'inpaint', outpaint: 'outpaint', t2i: 'text → image', vqa: 'VQA' };

export function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

export const ctx2d = (c: HTMLCanvasElement): CanvasRenderingContext2D => {
  const g = c.getContext('2d');
  if (!g) throw new Error('no 2d canvas');
  return g;
};

export const buttons = (root: ParentNode): HTMLButtonElement[] => Array.from(root.querySelectorAll<HTMLButtonElement>('button'));

export const ui = {
  status: el('status'),
  statusText: el('status-text'),
  input: el<HTMLCanvasElement>('input'),
  overlay: el<HTMLCanvasElement>('overlay'),
  stage: el('stage'),
  inputHint: el('input-hint'),
  samples: el('samples'),
  file: el<HTMLInputElement>('file'),
  tabs: el('tabs'),
  sides: el('sides'),
  run: el<HTMLButtonElement>('run'),
  steps: el<HTMLInputElement>('steps'),
  startAfter: el<HTMLInputElement>('start-after'),
  amount: el<HTMLInputElement>('amount'),
  prompt: el<HTMLTextAreaElement>('prompt'),
  question: el<HTMLInputElement>('question'),
  output: el<HTMLCanvasElement>('output'),
  outWrap: el('out-wrap'),
  frames: el('frames'),
  answer: el('answer'),
  answerText: el('answer-text'),
  history: el('history'),
};

export const fmtBytes = (n: number) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(n < 10240 ? 2 : 1)} KiB`);
export const fmtMs = (ms: number | null) => (ms === null ? '–' : ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);
export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A counter: its text, and its value in `data-value` for the tests. */
export function setStat(id: string, text: string, value: number | string) {
  const e = el(id);
  e.textContent = text;
  e.dataset.value = String(value);
}

export const setMsStat = (id: string, ms: number) => setStat(id, fmtMs(ms), Math.round(ms));

/** Planar float [0, 1] → canvas pixels. */
export function drawPlanar(canvas: HTMLCanvasElement, img: PlanarImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  const n = img.width * img.height;
  const out = new ImageData(img.width, img.height);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out.data[i * 4 + c] = Math.round(Math.min(1, Math.max(0, img.data[c * n + i] as number)) * 255);
    out.data[i * 4 + 3] = 255;
  }
  ctx2d(canvas).putImageData(out, 0, 0);
}

/** Any image (sample or upload) → 128x128 planar: centre square crop, then resize in a canvas. */
export async function imageToPlanar(blob: Blob): Promise<PlanarImage> {
  const bmp = await createImageBitmap(blob);
  const side = Math.min(bmp.width, bmp.height);
  const c = document.createElement('canvas');
  c.width = PX;
  c.height = PX;
  const g = ctx2d(c);
  g.imageSmoothingEnabled = true;
  g.imageSmoothingQuality = 'high';
  g.drawImage(bmp, (bmp.width - side) / 2, (bmp.height - side) / 2, side, side, 0, 0, PX, PX);
  bmp.close();
  const px = g.getImageData(0, 0, PX, PX).data;
  const data = new Float32Array(3 * PIXELS);
  for (let i = 0; i < PIXELS; i++) for (let ch = 0; ch < 3; ch++) data[ch * PIXELS + i] = (px[i * 4 + ch] as number) / 255;
  return { width: PX, height: PX, data };
}

export async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return r;
}
