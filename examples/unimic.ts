/**
 * `unimic run <task>` — one task on your own image or prompt, on the embedded default (signaling,
 * cloud worker and edge on loopback), with a progress display.
 *
 *   npm run unimic -- run inpaint  --image photo.jpg [--region x0,y0,x1,y1] [--prompt "…"]
 *   npm run unimic -- run outpaint --image photo.png [--side right] [--amount 8] [--prompt "…"]
 *   npm run unimic -- run t2i      --prompt "a red boat on a blue sea"
 *   npm run unimic -- run vqa      --image photo.png --question "what colour is the boat?"
 *   common: [--steps 8] [--start-after K] [--out DIR] [--pack DIR]
 *   against a remote stack (signaling + cloud worker elsewhere, e.g. another lab namespace):
 *     --signaling ws://HOST:PORT --token T [--tokens reliable|rtx:N|life:MS] [--ice-host ADDR] [--stun stun:HOST:PORT]
 *     [--setup-attempts N] (default 3: a setup that wedges under loss is retried with a fresh peer)
 *
 * The image is box-downscaled by an integer factor and centre-cropped to the pack's 128x128; the
 * region is in token cells (16x16 grid, end exclusive). Writes the final image and a strip of the
 * progressive frames, and the request's timeline as an SVG sequence diagram.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { downscaleAndCrop } from '@unimic/models';
import { readImage, toPng } from '@unimic/models/node';
import { EXTENSION_SIDES, type ExtensionSide, type TaskName } from '@unimic/protocol';
import type { EdgeEvent, EdgeTask } from '@unimic/edge-peer';
import { SETUP_RETRY, parseTokensReliability, validateSetupRetry, type IceOptions, type SetupRetryPolicy, type TokensReliability } from '@unimic/transport';
import { ROOT, runTask, startLocalStack, strip } from './local-stack.ts';
import { timelineSvg } from './timeline-svg.ts';

const USAGE = 'usage: unimic run <inpaint|outpaint|t2i|vqa> [--image FILE] [--prompt TEXT | --question TEXT] [--region x0,y0,x1,y1] [--side left|right|top|bottom] [--amount N] [--steps N] [--start-after K] [--out DIR] [--pack DIR] [--signaling URL --token T] [--tokens reliable|rtx:N|life:MS] [--ice-host ADDR] [--stun URL] [--setup-attempts N]';
const argv = process.argv.slice(2);
const fail = (msg: string): never => {
  process.stderr.write(`unimic: ${msg}\n${USAGE}\n`);
  process.exit(2);
};
if (argv[0] !== 'run' || !argv[1]) fail('expected `run <task>`');
const task = argv[1] as TaskName;
if (!['inpaint', 'outpaint', 't2i', 'vqa'].includes(task)) fail(`unknown task ${task}`);
const flags = new Map<string, string>();
for (let i = 2; i < argv.length; i += 2) {
  const k = argv[i] as string;
  if (!k.startsWith('--') || argv[i + 1] === undefined) fail(`bad argument ${k}`);
  flags.set(k.slice(2), argv[i + 1] as string);
}
const int = (k: string, def: number) => {
  const v = flags.has(k) ? Number(flags.get(k)) : def;
  if (!Number.isInteger(v) || v < 0) fail(`--${k} must be a non-negative integer`);
  return v;
};
const text = flags.get('prompt') ?? flags.get('question');
if ((task === 't2i' || task === 'vqa') && !text) fail(`${task} needs ${task === 'vqa' ? '--question' : '--prompt'}`);
if (task !== 't2i' && !flags.get('image')) fail(`${task} needs --image`);
const side = (flags.get('side') ?? 'right') as ExtensionSide;
if (!(EXTENSION_SIDES as readonly string[]).includes(side)) fail(`--side must be one of ${EXTENSION_SIDES.join(', ')}`);
const outDir = path.resolve(flags.get('out') ?? path.join(ROOT, 'out/run'));
mkdirSync(outDir, { recursive: true });

const signaling = flags.get('signaling');
if (signaling && !flags.get('token')) fail('--signaling needs --token (a signaling token with role edge)');
let tokens: TokensReliability | undefined;
try {
  if (flags.get('tokens')) tokens = parseTokensReliability(flags.get('tokens') as string);
} catch (err) {
  fail((err as Error).message);
}
const iceHost = flags.get('ice-host');
const stun = flags.get('stun');
const ice: IceOptions | undefined = iceHost || stun ? { loopbackOnly: false, ...(iceHost ? { iceHostAddress: iceHost } : {}), ...(stun ? { iceServers: [{ urls: stun }] } : {}) } : signaling ? { loopbackOnly: false } : undefined;

let retry: SetupRetryPolicy = SETUP_RETRY;
try {
  if (flags.has('setup-attempts')) retry = validateSetupRetry({ ...SETUP_RETRY, attempts: Number(flags.get('setup-attempts')) });
} catch (err) {
  fail((err as Error).message);
}

const t0 = performance.now();
const status = (s: string) => process.stderr.write(`\r\x1b[2K${s}`);
status(signaling ? `connecting to ${signaling}…` : 'starting signaling, cloud worker and edge on loopback…');
const stack = await startLocalStack({
  ...(flags.get('pack') ? { packDir: path.resolve(flags.get('pack') as string) } : {}),
  readiness: { afterStages: 0, deadlineMs: 60_000 },
  cloudProcess: true,
  ...(signaling ? { remote: { signalingUrl: signaling, token: flags.get('token') as string } } : {}),
  ...(tokens ? { tokens } : {}),
  ...(ice ? { ice } : {}),
  setup: {
    retry,
    onRetry: ({ attempt, attempts, error }) => status(`setup attempt ${attempt} of ${attempts} failed (${error instanceof Error ? error.message : String(error)}); trying again…\n`),
  },
});
let input;
let grid: Int32Array | undefined;
if (flags.get('image')) {
  const img = await readImage(path.resolve(flags.get('image') as string));
  const factor = Math.max(1, Math.floor(Math.min(img.width, img.height) / 128));
  input = downscaleAndCrop(img, factor, 128);
  grid = (await stack.tokenizer.encode(input)).tokens;
}
const [x0, y0, x1, y1] = (flags.get('region') ?? '4,4,12,12').split(',').map(Number) as [number, number, number, number];
const region = Array.from({ length: 256 }, (_, i) => i).filter((i) => i % 16 >= x0 && i % 16 < x1 && i >> 4 >= y0 && i >> 4 < y1);
if (task === 'inpaint' && region.length === 0) fail('--region selects no cell');
const steps = int('steps', 8);
const t: EdgeTask = {
  task,
  requestId: 1,
  ...(grid ? { grid } : {}),
  ...(text ? { text } : {}),
  ...(task === 'inpaint' ? { region } : {}),
  ...(task === 'outpaint' ? { outpaint: { side, amount: int('amount', 8) } } : {}),
  steps,
  startAfter: int('start-after', 3),
};
const bar = (done: number, total: number) => `[${'#'.repeat(Math.round((10 * done) / Math.max(1, total))).padEnd(10, '.')}]`;
// one line, both directions: what has gone up and what has come back
const progress = { up: 0, upBytes: 0, down: 0, downTokens: 0, answer: '' };
const show = (ms: number) =>
  status(
    (task === 't2i' ? '' : `up ${bar(progress.up, 8)} ${progress.up}/8 stages ${progress.upBytes} B · `) +
      (task === 'vqa' ? `answer: ${progress.answer || '…'}` : `down ${bar(progress.down, steps)} ${progress.down}/${steps} steps ${progress.downTokens} tokens`) +
      ` · ${(ms / 1000).toFixed(2)} s`,
  );
const run = await runTask(stack, t, (e: EdgeEvent, ms) => {
  if (e.type === 'upload-stage') (progress.up = e.stage + 1), (progress.upBytes += e.bytes);
  if (e.type === 'step') (progress.down = e.step + 1), (progress.downTokens += e.cells);
  if (e.type === 'answer') progress.answer = e.text;
  show(ms);
});
status('');
const frames = [];
if (input) frames.push(input);
for (const e of run.events) if (e.type === 'step') frames.push(await stack.renderer.render(e.grid));
const answer = run.events.filter((e) => e.type === 'answer').at(-1);
writeFileSync(path.join(outDir, `${task}-timeline.svg`), timelineSvg({ title: `${task}: ${run.bytesUp} B up, ${run.bytesDown} B down`, edge: run.events, cloud: run.cloudEvents, origin: run.startedAt }));
if (frames.length > (input ? 1 : 0)) {
  writeFileSync(path.join(outDir, `${task}.png`), toPng(frames.at(-1) as NonNullable<(typeof frames)[number]>));
  writeFileSync(path.join(outDir, `${task}-frames.png`), toPng(strip(frames)));
}
console.log(
  `${task}: ${run.bytesUp} B up, ${run.bytesDown} B down; first result ${run.firstPreviewMs.toFixed(0)} ms, final ${run.finalMs.toFixed(0)} ms; setup ${stack.edge.setupMs.toFixed(0)} ms in ${stack.edge.setupAttempts} attempt${stack.edge.setupAttempts === 1 ? '' : 's'}` +
    (answer && answer.type === 'answer' ? `\nanswer: ${answer.text}` : `\nwrote ${path.relative(process.cwd(), outDir)}/${task}.png and ${task}-frames.png`) +
    `\ntimeline: ${path.relative(process.cwd(), outDir)}/${task}-timeline.svg` +
    ` (total ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
);
await stack.close();
process.exit(0);
