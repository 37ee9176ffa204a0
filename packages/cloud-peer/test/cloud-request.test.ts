import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { filter, firstValueFrom, timeout, type Subscription } from 'rxjs';
import { UNKNOWN, loadPack, type LoadedPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import {
  PROTOCOL_VERSION,
  bpeEncode,
  compressText,
  decodeControl,
  installBrotli,
  loadBrotli,
  maskFromPositions,
  type ControlMessage,
  type NackMessage,
  type ResultMessage,
  type TaskMessage,
} from '@unimic/protocol';
import {
  CODING_MODEL_ROLES,
  ChunkStore,
  DecodeQueue,
  SESSION_LIMITS,
  StepReceiver,
  UploadSender,
  codingModels,
  codingPrompt,
  planRequest,
  type CodingModels,
  type ReceivedChunk,
  type RequestCoding,
  type RequestPlan,
} from '@unimic/session';
import { createPeerPair, type WeriftPeer } from '@unimic/transport';
import { CENTRE_HOLE, HAS_MASKED_MODEL, PACK_DIR, ScriptedPeer, kodakGrid, sleep, until } from '../../../test/fixtures/request-script.ts';
import { CloudPeer, cloudModels, type CloudEvent, type CloudModels, type TokenSampler } from '../src/index.ts';

/*
 * The cloud's request pipeline against a scripted edge.
 *
 * Real: the CloudPeer (cloudModels over the pack's entropy models: MaskGIT on the masked and
 * text-conditional models, wasm), a werift pair on loopback (edge = offerer), the session coder on
 * both sides (the script codes its upload with UploadSender and decodes the cloud's steps with
 * StepReceiver behind a DecodeQueue, as EdgePeer does), the protocol's control encoding.
 * Scripted: the edge. It sends `open`, `task`, upload chunks, `done`, `nack` and `close` by hand,
 * in the orders each test needs. Where a test must act while a request is still generating, a
 * gate holds the (real) sampler before step 1 until the test opens it: the request stays live,
 * deterministically, with step 0 on the wire.
 */

const photo = kodakGrid('kodim04.png');
const hole = CENTRE_HOLE;


const inpaintTask = (requestId: number, steps: number): TaskMessage => ({
  type: 'task',
  requestId,
  task: 'inpaint',
  grid: { width: 16, height: 16 },
  schedule: { kind: 'cosine', stages: 8, seed: requestId },
  mask: maskFromPositions(hole, 16, 16),
  steps,
});
const t2iTask = (requestId: number, text: string, steps: number): TaskMessage => ({
  type: 'task',
  requestId,
  task: 't2i',
  grid: { width: 16, height: 16 },
  schedule: { kind: 'cosine', stages: 8, seed: requestId },
  text: compressText(text),
  steps,
});

/** Holds every sampler call after the first until opened: step 0 goes out, step 1 waits. */
class Gate {
  private release!: () => void;
  private readonly opened = new Promise<void>((r) => (this.release = r));
  private calls = 0;
  open(): void {
    this.release();
  }
  wrap(s: TokenSampler): TokenSampler {
    return {
      cells: s.cells,
      sample: async (grid, positions, draw) => {
        if (this.calls++ >= 1) await this.opened;
        return s.sample(grid, positions, draw);
      },
    };
  }
  models(m: CloudModels): CloudModels {
    return { ...m, image: this.wrap(m.image), ...(m.imageWithText ? { imageWithText: this.wrap(m.imageWithText) } : {}) };
  }
}

/** The scripted edge on the offerer side of the pair. */
class ScriptedEdge extends ScriptedPeer {
  /** The cloud's first control message of `type` for `requestId` (bounded). */
  next<T extends ControlMessage['type']>(type: T, requestId: number | undefined, ms = 30_000): Promise<Extract<ControlMessage, { type: T }>> {
    return firstValueFrom(
      this.control$.pipe(
        filter((m): m is Extract<ControlMessage, { type: T }> => m.type === type && (requestId === undefined || ('requestId' in m && m.requestId === requestId))),
        timeout(ms),
      ),
    );
  }

  /** Chunks of one request's stream. */
  of(requestId: number, stream: number): ReceivedChunk[] {
    return this.chunks.filter((c) => c.header.message === requestId && c.header.stream === stream);
  }
}

/** The coding both peers derive for a task (as CloudRequest and EdgeRequest do). */
function codingOf(task: TaskMessage, text: string | undefined, models: CodingModels): RequestCoding {
  const prompt = codingPrompt(task.task, text ? Array.from(bpeEncode(text)) : [], models.list);
  return { models: models.list, ...(prompt ? { text: prompt } : {}) };
}

/** Every upload stage's chunks, coded by the real UploadSender (empty stages have none). */
async function uploadChunks(plan: RequestPlan, coding: RequestCoding, store = new ChunkStore()): Promise<Uint8Array[]> {
  const sender = new UploadSender(plan, photo, coding, store);
  const out: Uint8Array[] = [];
  for (let s = 0; s < sender.stages; s++) if (sender.cells(s).length > 0) out.push(...(await sender.code(s)));
  return out;
}

/** The edge's half of the generation: each `step` announced, its chunks decoded as they land. */
function receiveSteps(edge: ScriptedEdge, plan: RequestPlan, coding: RequestCoding, upload: Int32Array) {
  const steps = new StepReceiver(plan, coding, upload);
  const failures: string[] = [];
  const queue = new DecodeQueue(steps.stageReceiver, (r) => failures.push(...r.failures.map((f) => f.error.code)));
  const id = plan.task.requestId;
  const subs: Subscription[] = [
    edge.control$.pipe(filter((m) => m.type === 'step' && m.requestId === id)).subscribe((m) => {
      if (m.type !== 'step') return;
      steps.announce(m);
      queue.retry();
    }),
    edge.chunk$.pipe(filter((c) => c.header.message === id && c.header.stream === plan.downStream)).subscribe((c) => queue.push(c)),
  ];
  return {
    steps,
    failures,
    stop() {
      for (const s of subs) s.unsubscribe();
      queue.close();
    },
  };
}

/** Whether every chunk of stage `stage` is in `chunks` (the last one says how many there are). */
function stageArrived(chunks: readonly ReceivedChunk[], stage: number): boolean {
  const of = chunks.filter((c) => c.header.stage === stage);
  const last = of.find((c) => c.header.last);
  return !!last && new Set(of.map((c) => c.header.chunkIndex)).size === last.header.chunkIndex + 1;
}

const stepsSent = (events: CloudEvent[], requestId: number) => events.filter((e): e is Extract<CloudEvent, { type: 'step-sent' }> => e.type === 'step-sent' && e.requestId === requestId);

describe.skipIf(!HAS_MASKED_MODEL)('CloudPeer request pipeline against a scripted edge', () => {
  let pack: LoadedPack;
  let models: CodingModels;
  let served: CloudModels;
  let pair: { offerer: WeriftPeer; answerer: WeriftPeer } | undefined;
  let cloud: CloudPeer | undefined;
  let gate: Gate | undefined;

  beforeAll(async () => {
    installBrotli(await loadBrotli());
    pack = await loadPack(folderReader(PACK_DIR), [...CODING_MODEL_ROLES]);
    models = await codingModels(pack, wasmRuntime());
    served = await cloudModels(models, pack);
  }, 60_000);

  afterEach(async () => {
    gate?.open();
    cloud?.close();
    await Promise.all([pair?.offerer.close(), pair?.answerer.close()]);
    pair = cloud = gate = undefined;
  });

  /** A real CloudPeer on the answerer side, a scripted edge on the offerer side, session open. */
  async function session(opts: { gated?: boolean } = {}) {
    pair = await createPeerPair({ tokens: { mode: 'reliable' } });
    const events: CloudEvent[] = [];
    if (opts.gated) gate = new Gate();
    cloud = new CloudPeer({
      transport: pair.answerer,
      pack: { id: pack.manifest.id, sha256: pack.digest },
      models: gate ? gate.models(served) : served,
      // wait for the whole upload, but never longer than 10 s (a test that breaks fails in time)
      readiness: { afterStages: Infinity, deadlineMs: 10_000 },
      steps: 4,
      onEvent: (e) => events.push(e),
    });
    // what reached the cloud's transport (the CloudPeer subscribed first: it has handled each one already)
    const atCloud = { chunks: 0, control: [] as ControlMessage[] };
    pair.answerer.tokens.messages$.subscribe(() => atCloud.chunks++);
    pair.answerer.control.messages$.subscribe((bytes) => atCloud.control.push(decodeControl(bytes)));
    const edge = new ScriptedEdge(pair.offerer);
    await edge.send({
      type: 'open',
      protocolVersion: PROTOCOL_VERSION,
      role: 'edge',
      pack: { id: pack.manifest.id, sha256: pack.digest },
      capabilities: { models: models.list.map((m) => m.name), tasks: ['t2i', 'inpaint'], maxChunkBytes: SESSION_LIMITS.maxChunkBytes },
    });
    const open = await edge.next('open', undefined, 10_000);
    expect(open.capabilities.models).toEqual(models.list.map((m) => m.name));
    return { edge, events, atCloud };
  }

  it('holds upload chunks that overtake their task and uses them once it arrives: the request completes on the whole upload', async () => {
    const { edge, events, atCloud } = await session();
    const task = inpaintTask(1, 4);
    const plan = planRequest(task);
    const coding = codingOf(task, undefined, models);
    const chunks = await uploadChunks(plan, coding);
    for (const c of chunks) await edge.sendChunk(c);
    await until(() => atCloud.chunks === chunks.length, 10_000, 'the upload at the cloud');
    // nothing happened for the request yet (no task): the chunks are held, not refused
    expect(events).toEqual([]);
    const rx = receiveSteps(edge, plan, coding, photo);
    await edge.send(task);
    await edge.send({ type: 'done', requestId: 1, stream: plan.upStream!, stages: plan.upStages.length });
    const result = await edge.next('result', 1);
    expect(result.ok).toBe(true);
    expect(result.tokensUp).toBe(256 - hole.length);
    expect(result.bytesUp).toBe(chunks.reduce((a, c) => a + c.length, 0));
    expect(result.stagesUsed).toBe(plan.upStages.length);
    const complete = events.filter((e) => e.type === 'upload-stage' && e.complete).map((e) => (e as { stage: number }).stage);
    expect(complete.sort((a, b) => a - b)).toEqual(plan.upStages.flatMap((st, s) => (st.length > 0 ? [s] : [])));
    expect(events.find((e) => e.type === 'generation-start')).toMatchObject({ upStages: plan.upStages.length });
    expect(events.filter((e) => e.type === 'refused')).toEqual([]);
    // and the edge's half decodes what the cloud generated, exactly
    await until(() => rx.steps.generatedAll(), 10_000, 'every step decoded');
    rx.stop();
    expect(rx.failures).toEqual([]);
    for (const s of stepsSent(events, 1)) s.positions.forEach((p, j) => expect(rx.steps.generated[p]).toBe(s.tokens[j]));
  }, 60_000);

  it('answers a NACK for a generated step with exactly the bytes it sent first', async () => {
    const { edge, events } = await session({ gated: true });
    const text = 'a red boat on a calm blue sea';
    const task = t2iTask(2, text, 4);
    const plan = planRequest(task);
    const coding = codingOf(task, text, models);
    const rx = receiveSteps(edge, plan, coding, new Int32Array(256).fill(UNKNOWN));
    await edge.send(task);
    await until(() => stageArrived(edge.of(2, plan.downStream), 0), 20_000, 'step 0 at the edge');
    const first = new Map(edge.of(2, plan.downStream).map((c) => [c.header.chunkIndex, c]));
    // the gate holds step 1: the request is live, step 0 is all that was sent
    expect(stepsSent(events, 2).length).toBe(1);
    const ask = async (nack: NackMessage, expected: number) => {
      const before = edge.chunks.length;
      await edge.send(nack);
      await until(() => edge.chunks.length >= before + expected, 10_000, `the answer to ${JSON.stringify(nack.chunks)}`);
      return edge.chunks.slice(before);
    };
    const nack = { type: 'nack', stream: plan.downStream, message: 2, stage: 0 } as const;
    const whole = await ask({ ...nack, chunks: [] }, first.size);
    const one = await ask({ ...nack, chunks: [0] }, 1);
    // what the cloud never sent: nothing comes
    const before = edge.chunks.length;
    await edge.send({ ...nack, chunks: [first.size + 5] });
    await edge.send({ ...nack, stage: 3, chunks: [] });
    await edge.send({ ...nack, message: 4242, chunks: [] });
    await sleep(300);
    expect(edge.chunks.length).toBe(before);
    expect(whole.length).toBe(first.size);
    for (const c of [...whole, ...one]) {
      expect(c.header.stage).toBe(0);
      expect(Buffer.from(c.bytes).equals(Buffer.from(first.get(c.header.chunkIndex)!.bytes)), `chunk ${c.header.chunkIndex} re-sent with other bytes`).toBe(true);
    }
    expect(one[0]!.header.chunkIndex).toBe(0);
    gate!.open();
    const result = await edge.next('result', 2);
    expect(result.ok).toBe(true);
    await until(() => rx.steps.generatedAll(), 10_000, 'every step decoded');
    rx.stop();
    // the re-sent copies reached the edge's receiver as duplicates of a complete stage, nothing else failed
    expect(rx.failures.every((code) => code === 'ERR_DUPLICATE')).toBe(true);
    expect(rx.failures.length).toBe(whole.length + one.length);
  }, 60_000);

  it('sends no `done` down: steps then the result, whose counts are what came', async () => {
    const { edge, events } = await session();
    const text = 'a red boat on a calm blue sea';
    const task = t2iTask(3, text, 4);
    const plan = planRequest(task);
    const coding = codingOf(task, text, models);
    const rx = receiveSteps(edge, plan, coding, new Int32Array(256).fill(UNKNOWN));
    await edge.send(task);
    const result: ResultMessage = await edge.next('result', 3);
    await sleep(300); // anything trailing the result would be here by now
    await until(() => rx.steps.generatedAll(), 10_000, 'every step decoded');
    rx.stop();
    expect(result.ok).toBe(true);
    const mine = edge.control.filter((m) => 'requestId' in m && m.requestId === 3);
    expect(edge.control.filter((m) => m.type === 'done')).toEqual([]);
    expect(mine.map((m) => m.type)).toEqual(['step', 'step', 'step', 'step', 'result']);
    expect(result.tokensDown).toBe(rx.steps.decodedTokens());
    expect(result.tokensDown).toBe(256);
    expect(result.bytesDown).toBe(edge.of(3, plan.downStream).reduce((a, c) => a + c.bytes.length, 0));
    expect(result.tokensUp).toBe(0);
    expect(stepsSent(events, 3).length).toBe(4);
    expect(rx.failures).toEqual([]);
  }, 60_000);

  it('stops a request when the edge sends `close`: no step or chunk after it', async () => {
    const { edge, events, atCloud } = await session({ gated: true });
    const task = inpaintTask(4, 8);
    const plan = planRequest(task);
    const coding = codingOf(task, undefined, models);
    await edge.send(task);
    for (const c of await uploadChunks(plan, coding)) await edge.sendChunk(c);
    await until(() => stageArrived(edge.of(4, plan.downStream), 0), 20_000, 'step 0 at the edge');
    const stepsBefore = edge.control.filter((m) => m.type === 'step').length;
    const chunksBefore = edge.chunks.length;
    await edge.send({ type: 'close', reason: 'scripted edge leaves' });
    await until(() => atCloud.control.some((m) => m.type === 'close'), 10_000, 'the close at the cloud');
    gate!.open(); // step 1 is generated now: a request that did not stop would send it
    await until(() => events.some((e) => e.type === 'result' && e.requestId === 4), 10_000, 'the request to end');
    await sleep(500);
    expect(edge.control.filter((m) => m.type === 'step').length).toBe(stepsBefore);
    expect(edge.chunks.length).toBe(chunksBefore);
    expect(stepsSent(events, 4).length).toBe(1);
    // what the cloud still says about the request is consistent with what it sent
    const result = edge.control.find((m): m is ResultMessage => m.type === 'result' && m.requestId === 4);
    if (result) expect(result.tokensDown).toBe(stepsSent(events, 4)[0]!.cells);
  }, 60_000);
});
