/**
 * The embedded default deployment on one machine: a signaling server on loopback (random secret,
 * tokens minted for its own peers), one cloud worker and one edge, connected by werift through
 * it, all with the default model pack. Used by `npm start`, the `unimic` CLI and the session bench.
 */
import path from 'node:path';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { ImageTokenizer, loadPack, type LoadedPack, type PlanarImage } from '@unimic/models';
import { folderReader, nativeRuntime } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { installBrotli, loadBrotli } from '@unimic/protocol';
import { sessionModels, type SessionModels } from '@unimic/session';
import { createSignalingServer, type SignalingServer } from '@unimic/signaling';
import { startCloudWorker, type CloudWorker } from '@unimic/cloud-peer/node';
import type { CloudEvent, ReadinessPolicy } from '@unimic/cloud-peer';
import { connectEdge, type EdgeConnection } from '@unimic/edge-peer/node';
import { PreviewRenderer, type EdgeEvent, type EdgeTask } from '@unimic/edge-peer';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const DEFAULT_PACK = process.env.UNIMIC_PACK ?? path.join(ROOT, 'models/default');

export interface LocalStack {
  readonly pack: LoadedPack;
  readonly models: SessionModels;
  readonly tokenizer: ImageTokenizer;
  readonly renderer: PreviewRenderer;
  readonly server: SignalingServer;
  readonly cloud: CloudWorker;
  readonly edge: EdgeConnection;
  /** The cloud's readiness policy; change it between requests. */
  readonly readiness: { afterStages: number; deadlineMs: number };
  readonly cloudEvents: CloudEvent[];
  close(): Promise<void>;
}

export async function startLocalStack(packDir = DEFAULT_PACK, readiness: ReadinessPolicy = { afterStages: 3, deadlineMs: 30_000 }): Promise<LocalStack> {
  installBrotli(await loadBrotli());
  const pack = await loadPack(folderReader(packDir));
  const models = await sessionModels(pack, wasmRuntime());
  const tokenizer = await ImageTokenizer.create(pack, nativeRuntime());
  const server = await createSignalingServer({ port: 0 });
  const policy = { ...readiness };
  const cloudEvents: CloudEvent[] = [];
  const cloud = await startCloudWorker({
    signalingUrl: server.url,
    token: server.mintToken('cloud', 'worker-1'),
    pack: { id: pack.manifest.id, sha256: pack.digest },
    models: { coding: models.list, image: models.masked, ...(models.text ? { imageWithText: models.text } : {}) },
    readiness: policy,
    steps: 8,
    onEvent: (e) => cloudEvents.push(e),
  });
  const edge = await connectEdge({ signalingUrl: server.url, token: server.mintToken('edge', `session-${process.pid}`), pack, models: models.list });
  return {
    pack,
    models,
    tokenizer,
    renderer: new PreviewRenderer(tokenizer, models.masked),
    server,
    cloud,
    edge,
    readiness: policy,
    cloudEvents,
    async close() {
      await edge.close();
      await cloud.close();
      await server.close();
    },
  };
}

export interface TaskRun {
  readonly events: EdgeEvent[];
  readonly startedAt: number;
  readonly firstPreviewMs: number;
  readonly finalMs: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly upStagesUsed: number;
  /** Model time at the cloud (generation steps), ms. */
  readonly cloudInferenceMs: number;
}

export async function runTask(stack: LocalStack, task: EdgeTask, onEvent?: (e: EdgeEvent, ms: number) => void): Promise<TaskRun> {
  const startedAt = performance.now();
  const seen = stack.cloudEvents.length;
  const events = await lastValueFrom(stack.edge.edge.run(task).pipe(tap((e) => onEvent?.(e, e.at - startedAt)), toArray()));
  const first = events.find((e) => e.type === 'step' || e.type === 'answer');
  const result = events.at(-1) as Extract<EdgeEvent, { type: 'result' }>;
  const mine = stack.cloudEvents.slice(seen).filter((e) => 'requestId' in e && e.requestId === task.requestId);
  const inference = mine.reduce((a, e) => a + (e.type === 'step-sent' ? e.inferenceMs : 0), 0);
  return {
    events,
    startedAt,
    firstPreviewMs: (first?.at ?? result.at) - startedAt,
    finalMs: result.at - startedAt,
    bytesUp: result.bytesUp,
    bytesDown: result.bytesDown,
    upStagesUsed: result.result.stagesUsed,
    cloudInferenceMs: inference,
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
