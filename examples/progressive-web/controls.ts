/** The input side: samples and uploads, the task tabs and options, the region drawn, and the form they make. */
import type { ExtensionSide, TaskName } from '@unimic/protocol';
import type { EdgeTask } from '@unimic/edge-peer/browser';
import { SIDE, buttons, ctx2d, drawPlanar, el, fetchOk, imageToPlanar, ui } from './dom.ts';
import { centreRegion, page, setState } from './state.ts';

/** Each range input and the element that shows its value. */
const RANGES = [
  [ui.steps, 'steps-out'],
  [ui.startAfter, 'start-after-out'],
  [ui.amount, 'amount-out'],
] as const;

/** Shows the ranges' values again after a script set them (no input event fires then). */
export function syncRanges() {
  for (const [input, out] of RANGES) el(out).textContent = input.value;
}

export async function showImage(name: string, blob: Blob, source: 'sample' | 'upload') {
  const planar = await imageToPlanar(blob);
  page.image = { name: source === 'upload' ? `${name} (upload)` : name, planar, grid: null };
  drawPlanar(ui.input, planar);
  ui.stage.dataset.image = `${source}:${name}`;
  for (const b of buttons(ui.samples)) b.setAttribute('aria-pressed', String(source === 'sample' && b.dataset.name === name));
  drawOverlay();
}

export async function pickSample(name: string) {
  await showImage(name, await (await fetchOk(`/samples/${name}`)).blob(), 'sample');
}

/** One button a sample, each showing its image. */
export function addSamples(names: readonly string[]) {
  for (const name of names) {
    const b = document.createElement('button');
    b.dataset.name = name;
    b.title = name;
    b.setAttribute('role', 'listitem');
    const img = document.createElement('img');
    img.src = `/samples/${name}`;
    img.alt = name;
    b.append(img);
    b.addEventListener('click', () => void pickSample(name));
    ui.samples.append(b);
  }
}

/** The task's marks over the input (region cells or the outpainted band) and its hint. */
export function drawOverlay() {
  const { task, side, region } = page;
  const g = ctx2d(ui.overlay);
  const W = ui.overlay.width;
  const cell = W / SIDE;
  g.clearRect(0, 0, W, W);
  ui.stage.dataset.task = task;
  if (task === 'inpaint') {
    g.fillStyle = 'rgba(255, 92, 138, 0.42)';
    g.strokeStyle = 'rgba(255, 255, 255, 0.85)';
    g.lineWidth = 1;
    for (const c of region) g.fillRect((c % SIDE) * cell, Math.floor(c / SIDE) * cell, cell, cell);
    g.strokeStyle = 'rgba(255,255,255,0.12)';
    for (let i = 1; i < SIDE; i++) {
      g.beginPath();
      g.moveTo(i * cell, 0);
      g.lineTo(i * cell, W);
      g.moveTo(0, i * cell);
      g.lineTo(W, i * cell);
      g.stroke();
    }
    el('region-count').textContent = `${region.size} of 256 cells`;
  } else if (task === 'outpaint') {
    const a = (Number(ui.amount.value) * cell) / 2;
    const grad = (x0: number, y0: number, x1: number, y1: number) => {
      const gr = g.createLinearGradient(x0, y0, x1, y1);
      gr.addColorStop(0, 'rgba(91, 140, 255, 0)');
      gr.addColorStop(1, 'rgba(91, 140, 255, 0.65)');
      return gr;
    };
    if (side === 'right') (g.fillStyle = grad(W - a, 0, W, 0)), g.fillRect(W - a, 0, a, W);
    if (side === 'left') (g.fillStyle = grad(a, 0, 0, 0)), g.fillRect(0, 0, a, W);
    if (side === 'top') (g.fillStyle = grad(0, a, 0, 0)), g.fillRect(0, 0, W, a);
    if (side === 'bottom') (g.fillStyle = grad(0, W - a, 0, W)), g.fillRect(0, W - a, W, a);
  }
  const hints: Record<TaskName, string> = {
    inpaint: 'Drag on the image to paint (or erase) the cells the cloud regenerates.',
    outpaint: `The cloud extends the image by ${ui.amount.value} token rows (${Number(ui.amount.value) * 8} px) to the ${side}.`,
    t2i: 'Text-to-image sends only the prompt (BPE ids, Brotli).',
    vqa: 'The cloud answers from the image tokens; the answer streams back token by token.',
  };
  ui.inputHint.textContent = hints[task];
}

function bindRegionDrawing() {
  const { region } = page;
  // true: the drag adds cells, false: it erases them (decided by the first cell), null: no drag
  let painting: boolean | null = null;
  const cellAt = (ev: PointerEvent) => {
    const r = ui.overlay.getBoundingClientRect();
    const x = Math.floor(((ev.clientX - r.left) / r.width) * SIDE);
    const y = Math.floor(((ev.clientY - r.top) / r.height) * SIDE);
    return x >= 0 && y >= 0 && x < SIDE && y < SIDE ? y * SIDE + x : -1;
  };
  const paint = (c: number) => {
    painting ? region.add(c) : region.delete(c);
    drawOverlay();
  };
  ui.overlay.addEventListener('pointerdown', (ev) => {
    if (page.task !== 'inpaint') return;
    const c = cellAt(ev);
    if (c < 0) return;
    painting = !region.has(c);
    ui.overlay.setPointerCapture(ev.pointerId);
    paint(c);
  });
  ui.overlay.addEventListener('pointermove', (ev) => {
    if (painting === null) return;
    const c = cellAt(ev);
    if (c >= 0) paint(c);
  });
  const stop = () => (painting = null);
  ui.overlay.addEventListener('pointerup', stop);
  ui.overlay.addEventListener('pointercancel', stop);
}

export function selectTask(t: TaskName) {
  page.task = t;
  for (const b of buttons(ui.tabs)) b.setAttribute('aria-selected', String(b.dataset.task === t));
  for (const o of Array.from(document.querySelectorAll<HTMLElement>('.opts'))) o.hidden = o.dataset.for !== t;
  ui.stage.classList.toggle('empty', t === 't2i');
  drawOverlay();
}

export function selectSide(s: ExtensionSide) {
  page.side = s;
  for (const b of buttons(ui.sides)) b.setAttribute('aria-pressed', String(b.dataset.side === s));
  drawOverlay();
}

export function bindControls() {
  for (const b of buttons(ui.tabs)) b.addEventListener('click', () => !b.disabled && selectTask(b.dataset.task as TaskName));
  for (const b of buttons(ui.sides)) b.addEventListener('click', () => selectSide(b.dataset.side as ExtensionSide));
  for (const b of buttons(el('chips'))) b.addEventListener('click', () => (ui.question.value = b.textContent ?? ''));
  for (const [input, out] of RANGES) input.addEventListener('input', () => ((el(out).textContent = input.value), drawOverlay()));
  el('region-centre').addEventListener('click', () => (centreRegion(), drawOverlay()));
  el('region-clear').addEventListener('click', () => (page.region.clear(), drawOverlay()));
  ui.file.addEventListener('change', () => {
    const f = ui.file.files?.[0];
    if (!f) return;
    if (!/^image\/(png|jpeg)$/.test(f.type)) return void setState('error', `${f.name}: not a PNG or JPEG`);
    showImage(f.name, f, 'upload').catch((err: unknown) => setState('error', `cannot read ${f.name}: ${(err as Error).message}`));
  });
  bindRegionDrawing();
}

/** The request the form describes (the run adds its id and the input's tokens). */
export function readForm(): Omit<EdgeTask, 'requestId' | 'grid'> {
  const { task, side, region } = page;
  const steps = Number(ui.steps.value);
  const startAfter = Number(ui.startAfter.value);
  const common = { steps, startAfter, schedule: { kind: 'cosine' as const, stages: 8, seed: page.nextRequest } };
  switch (task) {
    case 'inpaint':
      if (region.size === 0) throw new Error('mark at least one cell to inpaint');
      return { task, region: [...region].sort((a, b) => a - b), ...common };
    case 'outpaint':
      return { task, outpaint: { side, amount: Number(ui.amount.value) }, ...common };
    case 't2i':
      if (!ui.prompt.value.trim()) throw new Error('type a prompt');
      return { task, text: ui.prompt.value.trim(), ...common };
    case 'vqa':
      if (!ui.question.value.trim()) throw new Error('type a question');
      // no generation steps: the answer streams as tokens
      return { task, text: ui.question.value.trim(), startAfter, schedule: common.schedule };
  }
}
