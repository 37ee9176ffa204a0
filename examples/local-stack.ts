/**
 * The embedded default deployment on one machine: a signaling server on loopback (random secret,
 * tokens minted for its own peers), one cloud worker and one edge, connected by werift through
 * it, all with the default model pack. Used by `npm start`, the `unimic` CLI and the session bench.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { ImageTokenizer, loadPack, timedRuntime, type InferenceClock, type LoadedPack, type PlanarImage } from '@unimic/models';
import { folderReader, nativeRuntime, workerRuntime } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { ensureBrotli } from '@unimic/protocol';
import { codingModels, type CodingModels } from '@unimic/session';
import { createSignalingServer, type SignalingServer } from '@unimic/signaling';
import { loadCloudPack, startCloudWorker, type CloudWorker } from '@unimic/cloud-peer/node';
import { cloudModels, type CloudEvent, type ReadinessPolicy } from '@unimic/cloud-peer';
import { connectEdge, type EdgeConnection } from '@unimic/edge-peer/node';
import { PreviewRenderer, type EdgeEvent, type EdgeSetupOptions, type EdgeTask } from '@unimic/edge-peer';
import type { IceOptions, TokensReliability } from '@unimic/transport';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const DEFAULT_PACK = process.env.UNIMIC_PACK ?? path.join(ROOT, 'models/default');
/** The cloud's generative model (text-to-image, inpainting, outpainting, VQA). */
export const DEFAULT_CLOUD_PACK = process.env.UNIMIC_CLOUD_PACK ?? path.join(ROOT, 'models/cloud');

export interface LocalStack {
  readonly pack: LoadedPack;
  readonly models: CodingModels;
  readonly tokenizer: ImageTokenizer;
  readonly renderer: PreviewRenderer;
  /** The embedded signaling server (absent against a remote stack). */
  readonly server?: SignalingServer;
  /** The in-process cloud worker (absent when the cloud runs as its own process). */
  readonly cloud?: CloudWorker;
  readonly edge: EdgeConnection;
  /** The cloud's readiness policy; change it between requests. */
  readonly readiness: { afterStages: number; deadlineMs: number };
  /** The cloud's events (from the child process too: without their token arrays). */
  readonly cloudEvents: CloudEvent[];
  /** Wall time inside entropy/generation model runs (both peers: they share this process). */
  readonly clock: InferenceClock;
  close(): Promise<void>;
}

export interface LocalStackOptions {
  readonly packDir?: string;
  readonly cloudPackDir?: string;
  /** The cloud's readiness policy (the edge may ask for later starts per task: `startAfter`). */
  readonly readiness?: ReadinessPolicy;
  /** Run the cloud worker as a child process (its own event loop and core), as deployed. */
  readonly cloudProcess?: boolean;
  /** Both peers: stages up to this many cells go context-free (default CONTEXT_FREE_MAX_CELLS). */
  readonly contextFreeMaxCells?: number;
  /** The edge decodes the cloud's steps before coding more upload (default true). */
  readonly downstreamFirst?: boolean;
  /**
   * Run only the edge, against signaling and a cloud worker elsewhere (another machine or lab
   * namespace): no server and no worker start here.
   */
  readonly remote?: { readonly signalingUrl: string; readonly token: string };
  /** The edge's tokens channel (default reliable). */
  readonly tokens?: TokensReliability;
  /** The edge's ICE (default loopback only). */
  readonly ice?: IceOptions;
  /** The edge's setup attempts and progress. */
  readonly setup?: EdgeSetupOptions;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const packDir = options.packDir ?? DEFAULT_PACK;
  const cloudPackDir = options.cloudPackDir ?? DEFAULT_CLOUD_PACK;
  const readiness = options.readiness ?? { afterStages: 3, deadlineMs: 30_000 };
  await ensureBrotli();
  const pack = await loadPack(folderReader(packDir));
  const clock: InferenceClock = { ms: 0, runs: 0 };
  const models = await codingModels(pack, timedRuntime(wasmRuntime(), clock));
  const tokenizer = await ImageTokenizer.create(pack, nativeRuntime());
  const policy = { ...readiness };
  const cloudEvents: CloudEvent[] = [];
  const server = options.remote ? undefined : await createSignalingServer({ port: 0 });
  let stopChild = () => undefined as void;
  let cloud: CloudWorker | undefined;
  if (server) {
    const token = server.mintToken('cloud', 'worker-1');
    cloud = options.cloudProcess
      ? await spawnCloud(server.url, token, packDir, cloudPackDir, policy.afterStages, options.contextFreeMaxCells, (e) => cloudEvents.push(e)).then((kill) => void (stopChild = kill))
      : await startCloudWorker({
          signalingUrl: server.url,
          token,
          pack: { id: pack.manifest.id, sha256: pack.digest },
          models: await cloudModels(models, pack, await loadCloudPack(cloudPackDir), timedRuntime(workerRuntime(), clock)),
          readiness: policy,
          steps: 8,
          ...(options.contextFreeMaxCells !== undefined ? { contextFreeMaxCells: options.contextFreeMaxCells } : {}),
          clock,
          onEvent: (e) => cloudEvents.push(e),
        });
  }
  const edge = await connectEdge({
    signalingUrl: options.remote?.signalingUrl ?? (server as SignalingServer).url,
    token: options.remote?.token ?? (server as SignalingServer).mintToken('edge', `session-${process.pid}`),
    pack,
    models: models.list,
    ...(options.tokens ? { tokens: options.tokens } : {}),
    ...(options.ice ? { ice: options.ice } : {}),
    ...(options.setup ? { setup: options.setup } : {}),
    ...(options.contextFreeMaxCells !== undefined ? { contextFreeMaxCells: options.contextFreeMaxCells } : {}),
    ...(options.downstreamFirst !== undefined ? { downstreamFirst: options.downstreamFirst } : {}),
  });
  return {
    pack,
    models,
    tokenizer,
    renderer: new PreviewRenderer(tokenizer, models.masked),
    server,
    ...(cloud ? { cloud } : {}),
    edge,
    readiness: policy,
    cloudEvents,
    clock,
    async close() {
      await edge.close();
      await cloud?.close();
      stopChild();
      await server?.close();
    },
  };
}

/** Starts examples/cloud-worker.ts as a child process; resolves once it registered. */
async function spawnCloud(url: string, token: string, packDir: string, cloudPackDir: string, afterStages: number, contextFreeMaxCells: number | undefined, onEvent: (e: CloudEvent) => void): Promise<() => void> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'examples/cloud-worker.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      SIGNALING_URL: url,
      TOKEN: token,
      UNIMIC_PACK: packDir,
      UNIMIC_CLOUD_PACK: cloudPackDir,
      AFTER_STAGES: String(afterStages),
      EVENTS: 'all',
      ...(contextFreeMaxCells !== undefined ? { CONTEXT_FREE_MAX_CELLS: String(contextFreeMaxCells) } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('cloud worker did not register within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`cloud worker exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      if (l.includes('"registered"')) clearTimeout(t), resolve();
      if (l.startsWith('{"event":"cloud-event"')) {
        // its events, on this process's clock (both report epoch ms); no token arrays
        const { event: _e, ...e } = JSON.parse(l) as CloudEvent & { event: string };
        onEvent({ ...e, at: e.at - performance.timeOrigin } as CloudEvent);
      }
    });
  });
  return () => void child.kill('SIGTERM');
}

export interface TaskRun {
  readonly events: EdgeEvent[];
  /** The cloud's events of this request (from a child process: without their token arrays). */
  readonly cloudEvents: CloudEvent[];
  readonly startedAt: number;
  readonly firstPreviewMs: number;
  readonly finalMs: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly upStagesUsed: number;
  /** Model time at the cloud (generation steps), ms. */
  readonly cloudInferenceMs: number;
  /** The edge's model time during the run (upload coding, step decoding), ms. */
  readonly modelMs: number;
  /** The cloud's model time for the request, as its result reports it (0 if it does not). */
  readonly cloudModelMs: number;
  /** End-to-end time not spent in either peer's model runs (a lower bound: the peers overlap). */
  readonly protocolMs: number;
  /** Chunk header bytes / chunk payload bytes, both directions. */
  readonly framingOverhead: number;
  /** The request's control message bytes, both directions (task, steps, answer, done, result). */
  readonly controlBytes: number;
  /** (chunk headers + control messages) / chunk payload bytes: everything that is not coded tokens. */
  readonly wireOverhead: number;
}

export async function runTask(stack: LocalStack, task: EdgeTask, onEvent?: (e: EdgeEvent, ms: number) => void): Promise<TaskRun> {
  const startedAt = performance.now();
  const seen = stack.cloudEvents.length;
  const model0 = stack.clock.ms;
  const events = await lastValueFrom(stack.edge.edge.run(task).pipe(tap((e) => onEvent?.(e, e.at - startedAt)), toArray()));
  const first = events.find((e) => e.type === 'step' || e.type === 'answer');
  const result = events.at(-1) as Extract<EdgeEvent, { type: 'result' }>;
  // a cloud in a child process reports over its stdout: give its last events a moment to land
  const cloudDone = () => stack.cloudEvents.slice(seen).some((e) => e.type === 'result' && e.requestId === task.requestId);
  for (let waited = 0; !cloudDone() && waited < 500; waited += 10) await new Promise((r) => setTimeout(r, 10));
  const mine = stack.cloudEvents.slice(seen).filter((e) => 'requestId' in e && e.requestId === task.requestId);
  const inference = mine.reduce((a, e) => a + (e.type === 'step-sent' ? e.inferenceMs : 0), 0);
  const payload = Math.max(1, result.bytesUp + result.bytesDown - result.headerBytes);
  return {
    events,
    cloudEvents: mine,
    startedAt,
    firstPreviewMs: (first?.at ?? result.at) - startedAt,
    finalMs: result.at - startedAt,
    bytesUp: result.bytesUp,
    bytesDown: result.bytesDown,
    upStagesUsed: result.result.stagesUsed,
    cloudInferenceMs: inference,
    modelMs: stack.clock.ms - model0,
    cloudModelMs: result.result.modelMs ?? 0,
    protocolMs: Math.max(0, result.at - startedAt - (stack.clock.ms - model0) - (result.result.modelMs ?? 0)),
    framingOverhead: result.headerBytes / payload,
    controlBytes: result.controlBytes,
    wireOverhead: (result.headerBytes + result.controlBytes) / payload,
  };
}

/** Frames side by side with a 2-pixel gap (all frames the same height). */
export function strip(frames: PlanarImage[]): PlanarImage {
  const h = Math.max(...frames.map((f) => f.height));
  const gap = 2;
  const w = frames.reduce((a, f) => a + f.width, 0) + gap * (frames.length - 1);
  const data = new Float32Array(3 * w * h).fill(1);
  let x0 = 0;
  for (const f of frames) {
    for (let c = 0; c < 3; c++) for (let y = 0; y < f.height; y++) for (let x = 0; x < f.width; x++) data[c * w * h + y * w + x0 + x] = f.data[c * f.width * f.height + y * f.width + x] as number;
    x0 += f.width + gap;
  }
  return { width: w, height: h, data };
}
