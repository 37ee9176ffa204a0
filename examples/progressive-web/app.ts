/*
 * The progressive-rendering page (bundled for the browser by server.ts). Everything the edge does
 * runs in this tab: the pack is fetched and verified (SHA-256), the tokenizer and entropy models
 * run on onnxruntime-web (wasm), text goes through the same BPE and Brotli as in Node, and the
 * session talks to the cloud worker over the browser's own RTCPeerConnection. Each generation step
 * the cloud streams is decoded as it lands and painted as one frame.
 *
 * Test hook: `window.unimic` (ready, run(options), last, tasks) and data attributes on the status
 * pill (`data-state`), the counters (`data-value`), the output (`data-frames`) and the answer.
 */
import { ImageTokenizer, loadPack, parseManifest, timedRuntime, type InferenceClock, type LoadedPack, type PackRole, type PlanarImage } from '@unimic/models';
import { bpeEncode, compressText, installBrotli, loadBrotli, type ExtensionSide, type TaskName } from '@unimic/protocol';
import { SESSION_MODEL_ROLES, sessionModels, type SessionModels } from '@unimic/session';
import { PreviewRenderer, connectEdgeBrowser, type BrowserEdgeConnection, type EdgeEvent, type EdgeTask } from '@unimic/edge-peer/browser';
import { allowHostCandidates } from '@unimic/transport/browser';
import { workerRuntime } from './worker-runtime.ts';

// ---------- types of the test hook ----------

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

export interface RunSummary {
  readonly task: TaskName;
  readonly requestId: number;
  readonly input: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly stepsAsked: number;
  readonly stepsReceived: number;
  readonly framesRendered: number;
  readonly uploadStages: number;
  /** Upload stages the cloud had when it started generating (result.stagesUsed). */
  readonly stagesUsed: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly bppUp: number;
  readonly bppDown: number;
  /** Task sent → first step decoded / first frame painted / result (ms). */
  readonly firstStepMs: number | null;
  readonly firstFrameMs: number | null;
  readonly finalMs: number;
  readonly edgeModelMs: number;
  readonly cloudModelMs: number;
  readonly answer: string;
  readonly outputWidth: number;
  readonly outputHeight: number;
}

/** GET /api/config: what the server offers. */
interface Config {
  readonly samples: readonly string[];
  readonly cloudPack: boolean;
}

/** GET /api/session: where to signal, with a fresh single-use edge token. */
interface SessionGrant {
  readonly signalingUrl: string;
  readonly token: string;
}

// ---------- small DOM helpers ----------

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}
const ctx2d = (c: HTMLCanvasElement): CanvasRenderingContext2D => {
  const g = c.getContext('2d');
  if (!g) throw new Error('no 2d canvas');
  return g;
};
const fmtBytes = (n: number) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(n < 10240 ? 2 : 1)} KiB`);
const fmtMs = (ms: number | null) => (ms === null ? '–' : ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);
function setStat(id: string, text: string, value: number | string) {
  const e = el(id);
  e.textContent = text;
  e.dataset.value = String(value);
}

const SIDE = 16; // token grid side of the default pack (128 px / 8)
const PX = 128;
const PIXELS = PX * PX;
const TASK_LABEL: Record<TaskName, string> = { inpaint: 'inpaint', outpaint: 'outpaint', t2i: 'text → image', vqa: 'VQA' };

/** Planar float [0, 1] → canvas pixels. */
function drawPlanar(canvas: HTMLCanvasElement, img: PlanarImage): void {
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
async function imageToPlanar(blob: Blob): Promise<PlanarImage> {
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

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return r;
}

/** The big output canvas, shown at twice its pixel size. */
function paintOutput(img: PlanarImage): void {
  drawPlanar(ui.output, img);
  ui.output.style.width = `${2 * img.width}px`;
  ui.outWrap.classList.add('has-frame');
}

// ---------- the edge: pack, models, connection ----------

interface Edge {
  readonly pack: LoadedPack;
  readonly tokenizer: ImageTokenizer;
  readonly models: SessionModels;
  readonly renderer: PreviewRenderer;
  readonly clock: InferenceClock;
}

async function loadEdge(progress: (text: string) => void): Promise<Edge> {
  progress('loading Brotli (wasm)…');
  installBrotli(await loadBrotli());
  const manifestBytes = new Uint8Array(await (await fetchOk('/pack/manifest.json')).arrayBuffer());
  const manifest = parseManifest(JSON.parse(new TextDecoder().decode(manifestBytes)));
  const listed = [...manifest.models, ...manifest.assets];
  // the edge needs the tokenizer and the session's entropy models, not the whole pack
  const roles = (['tokenizer.encoder', 'tokenizer.decoder', ...SESSION_MODEL_ROLES] as PackRole[]).filter((r) => listed.some((m) => m.role === r));
  const total = listed.filter((m) => roles.includes(m.role)).reduce((a, m) => a + m.bytes, 0);
  let loaded = 0;
  const pack = await loadPack(async (name) => {
    if (name === 'manifest.json') return manifestBytes;
    const bytes = new Uint8Array(await (await fetchOk(`/pack/${name}`)).arrayBuffer());
    loaded += bytes.length;
    progress(`loading pack ${manifest.id}: ${(loaded / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB (SHA-256 checked)…`);
    return bytes;
  }, roles);
  progress('compiling models on onnxruntime-web (in a worker)…');
  const clock: InferenceClock = { ms: 0, runs: 0 };
  // every model run happens in a worker: the main thread keeps the UI and the WebRTC heartbeat going
  const runtime = timedRuntime(await workerRuntime('/model-worker.js', { wasmPaths: '/ort/' }), clock);
  const tokenizer = await ImageTokenizer.create(pack, runtime);
  const models = await sessionModels(pack, runtime);
  return { pack, tokenizer, models, renderer: new PreviewRenderer(tokenizer, models.masked), clock };
}

// ---------- page state ----------

type State = 'loading' | 'connecting' | 'ready' | 'running' | 'done' | 'error';

const ui = {
  status: el('status'),
  statusText: el('status-text'),
  input: el<HTMLCanvasElement>('input'),
  overlay: el<HTMLCanvasElement>('overlay'),
  stage: el('stage'),
  inputHint: el('input-hint'),
  samples: el('samples'),
  file: el<HTMLInputElement>('file'),
  tabs: el('tabs'),
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

let edge: Edge | null = null;
let config: Config | null = null;
let conn: BrowserEdgeConnection | null = null;
let connecting: Promise<BrowserEdgeConnection> | null = null;
let cloudTasks: TaskName[] = [];
let task: TaskName = 'inpaint';
let side: ExtensionSide = 'right';
let image: { name: string; planar: PlanarImage; grid: Int32Array | null } | null = null;
const region = new Set<number>();
let nextRequest = 1;
let busy = false;
let last: RunSummary | null = null;

function setState(s: State, text: string) {
  ui.status.dataset.state = s;
  ui.statusText.textContent = text;
  ui.run.disabled = s === 'loading' || s === 'connecting' || s === 'running' || edge === null;
}

function centreRegion() {
  region.clear();
  for (let y = 4; y < 12; y++) for (let x = 4; x < 12; x++) region.add(y * SIDE + x);
}

// ---------- input: samples, upload, region ----------

async function showImage(name: string, blob: Blob, source: 'sample' | 'upload') {
  const planar = await imageToPlanar(blob);
  image = { name: source === 'upload' ? `${name} (upload)` : name, planar, grid: null };
  drawPlanar(ui.input, planar);
  ui.stage.dataset.image = `${source}:${name}`;
  for (const b of Array.from(ui.samples.querySelectorAll<HTMLElement>('button'))) b.setAttribute('aria-pressed', String(source === 'sample' && b.dataset.name === name));
  drawOverlay();
}

async function pickSample(name: string) {
  await showImage(name, await (await fetchOk(`/samples/${name}`)).blob(), 'sample');
}

/** The input's tokens (encoded once per image, on onnxruntime-web). */
async function inputGrid(): Promise<Int32Array> {
  if (!image) throw new Error('pick or upload an image first');
  if (!edge) throw new Error('models not loaded');
  if (!image.grid) image.grid = (await edge.tokenizer.encode(image.planar)).tokens;
  return image.grid;
}

function drawOverlay() {
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
  let painting: boolean | null = null;
  const cellAt = (ev: PointerEvent) => {
    const r = ui.overlay.getBoundingClientRect();
    const x = Math.floor(((ev.clientX - r.left) / r.width) * SIDE);
    const y = Math.floor(((ev.clientY - r.top) / r.height) * SIDE);
    return x >= 0 && y >= 0 && x < SIDE && y < SIDE ? y * SIDE + x : -1;
  };
  ui.overlay.addEventListener('pointerdown', (ev) => {
    if (task !== 'inpaint') return;
    const c = cellAt(ev);
    if (c < 0) return;
    painting = !region.has(c);
    ui.overlay.setPointerCapture(ev.pointerId);
    painting ? region.add(c) : region.delete(c);
    drawOverlay();
  });
  ui.overlay.addEventListener('pointermove', (ev) => {
    if (painting === null) return;
    const c = cellAt(ev);
    if (c < 0) return;
    painting ? region.add(c) : region.delete(c);
    drawOverlay();
  });
  const stop = () => (painting = null);
  ui.overlay.addEventListener('pointerup', stop);
  ui.overlay.addEventListener('pointercancel', stop);
}

function selectTask(t: TaskName) {
  task = t;
  for (const b of Array.from(ui.tabs.querySelectorAll<HTMLButtonElement>('button'))) b.setAttribute('aria-selected', String(b.dataset.task === t));
  for (const o of Array.from(document.querySelectorAll<HTMLElement>('.opts'))) o.hidden = o.dataset.for !== t;
  ui.stage.classList.toggle('empty', t === 't2i');
  drawOverlay();
}

function selectSide(s: ExtensionSide) {
  side = s;
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('#sides button'))) b.setAttribute('aria-pressed', String(b.dataset.side === s));
  drawOverlay();
}

function bindControls() {
  for (const b of Array.from(ui.tabs.querySelectorAll<HTMLButtonElement>('button'))) b.addEventListener('click', () => !b.disabled && selectTask(b.dataset.task as TaskName));
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('#sides button'))) b.addEventListener('click', () => selectSide(b.dataset.side as ExtensionSide));
  for (const b of Array.from(el('chips').querySelectorAll<HTMLButtonElement>('button'))) b.addEventListener('click', () => (ui.question.value = b.textContent ?? ''));
  const mirror = (input: HTMLInputElement, out: string) => input.addEventListener('input', () => ((el(out).textContent = input.value), drawOverlay()));
  mirror(ui.steps, 'steps-out');
  mirror(ui.startAfter, 'start-after-out');
  mirror(ui.amount, 'amount-out');
  el('region-centre').addEventListener('click', () => (centreRegion(), drawOverlay()));
  el('region-clear').addEventListener('click', () => (region.clear(), drawOverlay()));
  ui.file.addEventListener('change', () => {
    const f = ui.file.files?.[0];
    if (!f) return;
    if (!/^image\/(png|jpeg)$/.test(f.type)) return void setState('error', `${f.name}: not a PNG or JPEG`);
    showImage(f.name, f, 'upload').catch((err: unknown) => setState('error', `cannot read ${f.name}: ${(err as Error).message}`));
  });
  ui.run.addEventListener('click', () => void runFromForm().catch(() => undefined));
  bindRegionDrawing();
}

// ---------- connection ----------

async function ensureConnected(): Promise<BrowserEdgeConnection> {
  if (conn && conn.transport.state === 'open') return conn;
  if (connecting) return connecting;
  connecting = (async () => {
    if (!edge) throw new Error('models not loaded');
    setState('connecting', 'connecting to the cloud (signaling → WebRTC)…');
    // each session needs a fresh single-use token
    const grant = (await (await fetchOk('/api/session')).json()) as SessionGrant;
    const c = await connectEdgeBrowser({ signalingUrl: grant.signalingUrl, token: grant.token, pack: edge.pack, models: edge.models.list });
    conn = c;
    cloudTasks = [...c.cloud.capabilities.tasks] as TaskName[];
    document.body.dataset.tasks = cloudTasks.join(',');
    for (const b of Array.from(ui.tabs.querySelectorAll<HTMLButtonElement>('button'))) {
      b.disabled = !cloudTasks.includes(b.dataset.task as TaskName);
      b.title = b.disabled ? 'this cloud has no model for it (no cloud pack)' : '';
    }
    setStat('s-setup', fmtMs(c.setupMs), Math.round(c.setupMs));
    c.transport.state$.subscribe((s) => {
      if ((s === 'closed' || s === 'failed') && conn === c) {
        conn = null;
        console.warn(`transport ${s}: ${c.transport.failureReason ?? ''}`);
        void c.close(); // the signaling connection and the edge's subscriptions go too
        if (!busy) setState('ready', `disconnected (${c.transport.failureReason ?? s}); the next run reconnects`);
      }
    });
    return c;
  })();
  try {
    return await connecting;
  } finally {
    connecting = null;
  }
}

// ---------- a run ----------

function resetOutput(t: EdgeTask, steps: number) {
  ui.frames.replaceChildren();
  ui.outWrap.dataset.frames = '0';
  ui.outWrap.classList.remove('has-frame');
  ui.answer.hidden = t.task !== 'vqa';
  ui.answerText.textContent = '';
  ui.answerText.dataset.answer = '';
  el('answer-q').textContent = t.task === 'vqa' ? (t.text ?? '') : '';
  ui.answer.classList.remove('done');
  el('tl-up').replaceChildren();
  el('tl-down').replaceChildren();
  el('stage-list').replaceChildren();
  el('out-caption').textContent = `· ${TASK_LABEL[t.task]}${t.text && t.task !== 'vqa' ? ` · “${t.text}”` : ''}`;
  bars(0, 0, 0, steps);
  for (const id of ['s-first', 's-final', 's-stages', 's-edge', 's-cloud']) setStat(id, '–', '');
  counters(0, 0);
}

function counters(up: number, down: number) {
  setStat('s-up', fmtBytes(up), up);
  setStat('s-down', fmtBytes(down), down);
  el('s-bpp-up').textContent = `${((up * 8) / PIXELS).toFixed(4)} bpp`;
  el('s-bpp-down').textContent = `${((down * 8) / PIXELS).toFixed(4)} bpp`;
}

function bars(up: number, upTotal: number, down: number, downTotal: number) {
  el('bar-up').style.width = `${upTotal ? (100 * up) / upTotal : 0}%`;
  el('bar-down').style.width = `${downTotal ? (100 * down) / downTotal : 0}%`;
  el('bar-up-text').textContent = `${up} / ${upTotal}`;
  el('bar-down-text').textContent = `${down} / ${downTotal}`;
}

interface Mark {
  readonly lane: 'up' | 'down';
  readonly from: number;
  readonly to: number;
  readonly label: string;
}

/** Lays the timeline out again on the current time scale (it grows as the run goes). */
function timeline(marks: readonly Mark[], now: number) {
  const span = Math.max(now, 1);
  el('tl-scale').textContent = `· 0 – ${fmtMs(span)}`;
  for (const lane of ['up', 'down'] as const) {
    const track = el(`tl-${lane}`);
    track.replaceChildren(
      ...marks
        .filter((m) => m.lane === lane)
        .map((m) => {
          const d = document.createElement('div');
          d.className = `seg ${lane}`;
          d.style.left = `${(100 * m.from) / span}%`;
          d.style.width = `max(3px, ${(100 * (m.to - m.from)) / span}%)`;
          d.title = m.label;
          return d;
        }),
    );
  }
}

function listStage(text: string, kind: 'up' | 'down' | 'info') {
  const li = document.createElement('li');
  li.className = kind;
  li.textContent = text;
  el('stage-list').append(li);
}

function thumb(img: PlanarImage, label: string): void {
  const fig = document.createElement('figure');
  const c = document.createElement('canvas');
  drawPlanar(c, img);
  const cap = document.createElement('figcaption');
  cap.textContent = label;
  fig.append(c, cap);
  ui.frames.append(fig);
  requestAnimationFrame(() => fig.classList.add('in'));
}

function readForm(): Omit<EdgeTask, 'requestId' | 'grid'> {
  const steps = Number(ui.steps.value);
  const startAfter = Number(ui.startAfter.value);
  const common = { steps, startAfter, schedule: { kind: 'cosine' as const, stages: 8, seed: nextRequest } };
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

async function runFromForm(): Promise<RunSummary> {
  if (busy) throw new Error('a run is in progress');
  if (!edge) throw new Error('models not loaded');
  busy = true;
  const e = edge;
  const inputName = task === 't2i' ? '—' : (image?.name ?? '—');
  let t: EdgeTask | null = null;
  try {
    const form = readForm();
    const c = await ensureConnected();
    if (!c.cloud.capabilities.tasks.includes(form.task)) throw new Error(`this cloud offers no ${form.task}`);
    setState('running', `${TASK_LABEL[form.task]}: tokenizing the input…`);
    const grid = form.task === 't2i' ? undefined : await inputGrid();
    t = { ...form, requestId: nextRequest++, ...(grid ? { grid } : {}) };
    const stepsAsked = t.task === 'vqa' ? 0 : (t.steps ?? 8);
    resetOutput(t, stepsAsked);
    if (image && (t.task === 'inpaint' || t.task === 'outpaint')) thumb(image.planar, 'input');
    if (t.task === 'vqa' && grid) {
      // what the cloud will see: the edge's tokens, detokenized
      paintOutput(await e.tokenizer.decode({ width: SIDE, height: SIDE, tokens: grid }));
    }
    setState('running', `${TASK_LABEL[t.task]}: streaming…`);
    const summary = await stream(c, e, t, stepsAsked, inputName);
    last = summary;
    history(summary);
    setState('done', `${TASK_LABEL[t.task]} done in ${fmtMs(summary.finalMs)}: ${fmtBytes(summary.bytesUp)} up, ${fmtBytes(summary.bytesDown)} down`);
    return summary;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    setState('error', message);
    ui.status.dataset.error = message;
    last = {
      task: t?.task ?? task,
      requestId: t?.requestId ?? 0,
      input: inputName,
      ok: false,
      error: message,
      stepsAsked: 0,
      stepsReceived: 0,
      framesRendered: 0,
      uploadStages: 0,
      stagesUsed: 0,
      bytesUp: 0,
      bytesDown: 0,
      bppUp: 0,
      bppDown: 0,
      firstStepMs: null,
      firstFrameMs: null,
      finalMs: 0,
      edgeModelMs: 0,
      cloudModelMs: 0,
      answer: '',
      outputWidth: 0,
      outputHeight: 0,
    };
    throw err;
  } finally {
    busy = false;
    if (ui.status.dataset.state !== 'error') ui.run.disabled = false;
    else ui.run.disabled = edge === null;
  }
}

/** One request through the session, painting a frame per generation step as it is decoded. */
async function stream(c: BrowserEdgeConnection, e: Edge, t: EdgeTask, stepsAsked: number, inputName: string): Promise<RunSummary> {
  const t0 = performance.now();
  const model0 = e.clock.ms;
  const marks: Mark[] = [];
  let bytesUp = 0;
  let bytesDown = 0;
  let uploadStages = 0;
  // the schedule's 8 stages (a stage with no token to send is skipped)
  const uploadTotal = t.task === 't2i' ? 0 : (t.schedule?.stages ?? 8);
  let lastUp = 0;
  let lastDown = 0;
  let stepsReceived = 0;
  let framesRendered = 0;
  let firstStepMs: number | null = null;
  let firstFrameMs: number | null = null;
  let answer = '';
  let result: Extract<EdgeEvent, { type: 'result' }> | null = null;
  let frames: Promise<void> = Promise.resolve();
  let frameError: Error | null = null;
  const ms = (at: number) => at - t0;
  const tick = () => {
    counters(bytesUp, bytesDown);
    bars(uploadStages, uploadTotal, stepsReceived, stepsAsked);
    timeline(marks, performance.now() - t0);
  };

  // live bytes down: every token chunk on the tokens channel during the run (the result has the exact count)
  const down = c.transport.tokens.messages$.subscribe((b) => ((bytesDown += b.length), tick()));
  const clock = setInterval(() => timeline(marks, performance.now() - t0), 200);
  const subs: { unsubscribe(): void }[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      // the edge waits for a result until its deadline; a dead transport ends the run at once
      subs.push(
        c.transport.state$.subscribe((st) => {
          if (st === 'closed' || st === 'failed') reject(new Error(`connection ${st} mid-run: ${c.transport.failureReason ?? ''}; run again to reconnect`));
        }),
      );
      subs.push(c.edge.run(t).subscribe({
        next: (ev) => {
          switch (ev.type) {
            case 'upload-stage':
              uploadStages++;
              bytesUp += ev.bytes;
              marks.push({ lane: 'up', from: lastUp, to: ms(ev.at), label: `stage ${ev.stage}: ${ev.cells} tokens, ${ev.bytes} B` });
              listStage(`↑ stage ${ev.stage + 1}: ${ev.cells} tokens · ${ev.bytes} B · ${fmtMs(ms(ev.at) - lastUp)}`, 'up');
              lastUp = ms(ev.at);
              break;
            case 'step': {
              stepsReceived++;
              firstStepMs ??= ms(ev.at);
              marks.push({ lane: 'down', from: lastDown || ms(ev.at) - 1, to: ms(ev.at), label: `step ${ev.step + 1}: ${ev.cells} tokens` });
              listStage(`↓ step ${ev.step + 1}: ${ev.cells} tokens decoded at ${fmtMs(ms(ev.at))}`, 'down');
              lastDown = ms(ev.at);
              const grid = ev.grid;
              const label = `step ${ev.step + 1}`;
              // frames are painted in order, one per step, while later steps keep arriving
              frames = frames.then(async () => {
                try {
                  const img = await e.renderer.render(grid);
                  paintOutput(img);
                  thumb(img, label);
                  framesRendered++;
                  ui.outWrap.dataset.frames = String(framesRendered);
                  firstFrameMs ??= performance.now() - t0;
                  setStat('s-first', fmtMs(firstFrameMs), Math.round(firstFrameMs));
                } catch (err) {
                  frameError = err as Error;
                }
              });
              break;
            }
            case 'answer':
              answer = ev.text;
              firstStepMs ??= ms(ev.at);
              if (firstFrameMs === null) setStat('s-first', fmtMs(firstStepMs), Math.round(firstStepMs));
              ui.answerText.textContent = answer;
              ui.answerText.dataset.answer = answer;
              marks.push({ lane: 'down', from: ms(ev.at) - 1, to: ms(ev.at), label: `answer: ${answer}` });
              if (ev.done) ui.answer.classList.add('done');
              break;
            case 'result':
              result = ev;
              bytesUp = ev.bytesUp;
              bytesDown = ev.bytesDown;
              listStage(`✓ result at ${fmtMs(ms(ev.at))}: cloud started after ${ev.result.stagesUsed} upload stages`, 'info');
              break;
          }
          tick();
        },
        error: reject,
        complete: resolve,
      }));
    });
    await frames;
  } finally {
    down.unsubscribe();
    for (const x of subs) x.unsubscribe();
    clearInterval(clock);
  }
  if (frameError) throw frameError;
  const r = result as Extract<EdgeEvent, { type: 'result' }> | null;
  if (!r) throw new Error('the run ended without a result');
  const finalMs = ms(r.at);
  const edgeModelMs = e.clock.ms - model0;
  const cloudModelMs = r.result.modelMs ?? 0;
  setStat('s-final', fmtMs(finalMs), Math.round(finalMs));
  if (firstFrameMs === null && firstStepMs === null) setStat('s-first', fmtMs(finalMs), Math.round(finalMs));
  setStat('s-stages', t.task === 't2i' ? 'no upload' : `${r.result.stagesUsed} of 8`, r.result.stagesUsed);
  setStat('s-edge', fmtMs(edgeModelMs), Math.round(edgeModelMs));
  setStat('s-cloud', fmtMs(cloudModelMs), Math.round(cloudModelMs));
  counters(r.bytesUp, r.bytesDown);
  timeline(marks, finalMs);
  return {
    task: t.task,
    requestId: t.requestId,
    input: inputName,
    ok: true,
    stepsAsked,
    stepsReceived,
    framesRendered,
    uploadStages,
    stagesUsed: r.result.stagesUsed,
    bytesUp: r.bytesUp,
    bytesDown: r.bytesDown,
    bppUp: (r.bytesUp * 8) / PIXELS,
    bppDown: (r.bytesDown * 8) / PIXELS,
    firstStepMs,
    firstFrameMs,
    finalMs,
    edgeModelMs,
    cloudModelMs,
    answer,
    outputWidth: r.grid.width * 8,
    outputHeight: r.grid.height * 8,
  };
}

function history(s: RunSummary) {
  const tr = document.createElement('tr');
  const cell = (text: string, cls = '') => {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.append(td);
    return td;
  };
  // the final frame (for VQA: the detokenized input the cloud answered from)
  const c = document.createElement('canvas');
  c.width = ui.output.width;
  c.height = ui.output.height;
  ctx2d(c).drawImage(ui.output, 0, 0);
  cell('').append(c);
  cell(TASK_LABEL[s.task], 'task');
  cell(s.input.replace(/\.(png|jpe?g)/i, ''));
  cell(fmtBytes(s.bytesUp), 'mono');
  cell(fmtBytes(s.bytesDown), 'mono');
  cell(s.bppUp.toFixed(3), 'mono');
  cell(fmtMs(s.firstFrameMs ?? s.firstStepMs), 'mono');
  cell(fmtMs(s.finalMs), 'mono');
  cell(s.task === 'vqa' ? `“${s.answer}”` : `${s.framesRendered} frames, ${s.outputWidth}×${s.outputHeight}`, s.task === 'vqa' ? 'answer-cell' : '');
  tr.dataset.task = s.task;
  ui.history.prepend(tr);
}

// ---------- the test hook ----------

async function hookRun(o: RunOptions): Promise<RunSummary> {
  await ready;
  selectTask(o.task);
  if (o.sample) await pickSample(o.sample);
  if (o.prompt !== undefined) ui.prompt.value = o.prompt;
  if (o.question !== undefined) ui.question.value = o.question;
  if (o.side) selectSide(o.side);
  if (o.amount !== undefined) ui.amount.value = String(o.amount);
  if (o.steps !== undefined) ui.steps.value = String(o.steps);
  if (o.startAfter !== undefined) ui.startAfter.value = String(o.startAfter);
  if (o.region) {
    region.clear();
    for (const c of o.region) region.add(c);
  }
  for (const [input, out] of [[ui.amount, 'amount-out'], [ui.steps, 'steps-out'], [ui.startAfter, 'start-after-out']] as const) el(out).textContent = input.value;
  drawOverlay();
  return runFromForm();
}

// ---------- boot ----------

async function boot(): Promise<{ tasks: TaskName[] }> {
  setState('loading', 'loading…');
  bindControls();
  centreRegion();
  selectTask('inpaint');
  config = (await (await fetchOk('/api/config')).json()) as Config;
  for (const name of config.samples) {
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
  const first = config.samples.find((s) => s.startsWith('kodim23')) ?? config.samples[0];
  if (first) await pickSample(first);
  edge = await loadEdge((text) => setState('loading', text));
  // Chromium offers a loopback candidate only once the page may list interfaces
  if (!(await allowHostCandidates())) console.warn('no media permission: the browser may offer no loopback ICE candidate');
  await ensureConnected();
  setState('ready', `ready · cloud offers ${cloudTasks.map((x) => TASK_LABEL[x]).join(', ')}${config.cloudPack ? '' : ' (no cloud pack: no VQA)'}`);
  return { tasks: cloudTasks };
}

const ready = boot();
ready.catch((err: unknown) => setState('error', err instanceof Error ? err.message : String(err)));
addEventListener('pagehide', () => void conn?.close());

(globalThis as unknown as { unimic: unknown }).unimic = {
  ready,
  run: hookRun,
  /** The bytes this tab makes of a text (BPE ids, Brotli): the tests compare them with Node's. */
  textBytes: (text: string) => ({ bpe: Array.from(bpeEncode(text)), brotli: Array.from(compressText(text)) }),
  get last() {
    return last;
  },
  get tasks() {
    return cloudTasks;
  },
};
