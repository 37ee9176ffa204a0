import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { UNKNOWN, loadPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import { ErrorCode, buildSchedule, createRng, isProtocolError, maskFromPositions, type StepMessage, type TaskMessage } from '@unimic/protocol';
import {
  ChunkStore,
  DecodeQueue,
  EarlyChunks,
  CODING_MODEL_ROLES,
  StepReceiver,
  StepSender,
  UploadReceiver,
  UploadSender,
  nackFor,
  planRequest,
  readChunk,
  codingModels,
  type DecodeResult,
  type ModelTable,
  type RequestCoding,
  type RequestPlan,
} from '../src/index.ts';

/*
 * Both halves of a request, each side built from this package alone, as the two peers build them:
 * the edge's UploadSender against the cloud's UploadReceiver, the cloud's StepSender against the
 * edge's StepReceiver. Real pack models (learned models only: every stage depends on its context,
 * so a context that differed by one cell would fail a checksum), arrival orders a lossy, reordering
 * link produces.
 */

const root = path.resolve(import.meta.dirname, '../../..');
const grids = JSON.parse(readFileSync(path.join(root, 'test/fixtures/kodak-grids.json'), 'utf8')).grids as Record<string, number[]>;
const image = Int32Array.from(grids['kodim04.png'] as number[]);
let coding: RequestCoding;

const base = { type: 'task', requestId: 9, grid: { width: 16, height: 16 }, schedule: { kind: 'cosine', stages: 8, seed: 3 } } as const;
const hole = Array.from({ length: 256 }, (_, i) => i).filter((i) => i % 16 >= 4 && i % 16 < 12 && i >> 4 >= 4 && i >> 4 < 12);

function shuffle<T>(items: T[], seed: number): T[] {
  const rng = createRng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor((rng() / 2 ** 32) * (i + 1)); // rng() is a uint32
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function uploadAll(plan: RequestPlan): Promise<Uint8Array[]> {
  const sender = new UploadSender(plan, image, coding, new ChunkStore());
  const chunks: Uint8Array[] = [];
  for (let s = 0; s < sender.stages; s++) if (sender.cells(s).length > 0) chunks.push(...(await sender.code(s)));
  return chunks;
}

/** Pushes chunks through a DecodeQueue as a peer does; resolves with every result once idle. */
async function receive(queueOf: (onResult: (r: DecodeResult) => void) => DecodeQueue, chunks: Uint8Array[]): Promise<DecodeResult[]> {
  const results: DecodeResult[] = [];
  const queue = queueOf((r) => results.push(r));
  for (const c of chunks) queue.push(readChunk(c));
  await queue.idle();
  queue.close();
  return results;
}

beforeAll(async () => {
  const pack = await loadPack(folderReader(path.join(root, 'models/default')), [...CODING_MODEL_ROLES]);
  const models: ModelTable = (await codingModels(pack, wasmRuntime())).list;
  coding = { models, contextFreeMaxCells: 0 };
}, 120_000);

describe('upload: UploadSender → UploadReceiver', () => {
  for (const [name, reliableStages] of [['reliable', undefined], ['partially reliable (3 stages)', 3]] as const) {
    it(`${name}: every stage decodes exactly, in a shuffled arrival order`, async () => {
      const plan = planRequest({ ...base, task: 'vqa', text: new Uint8Array([1]), ...(reliableStages ? { reliableStages } : {}) } as TaskMessage);
      const chunks = await uploadAll(plan);
      const receiver = new UploadReceiver(plan, coding);
      const results = await receive((on) => new DecodeQueue(receiver.stageReceiver, on), shuffle(chunks, 11));
      // chunks that wait for their context are retried once it is complete: drain until no progress
      expect(results.flatMap((r) => r.failures)).toEqual([]);
      expect(receiver.completeStages()).toBe(plan.upStages.length);
      expect(receiver.grid).toEqual(image);
      expect(receiver.tokens).toBe(256);
    }, 60_000);
  }

  it('partially reliable: with a stage beyond the reliable prefix lost, every other stage still decodes', async () => {
    const plan = planRequest({ ...base, task: 'vqa', text: new Uint8Array([1]), reliableStages: 3 } as TaskMessage);
    const chunks = (await uploadAll(plan)).filter((c) => readChunk(c).header.stage !== 5);
    const receiver = new UploadReceiver(plan, coding);
    await receive((on) => new DecodeQueue(receiver.stageReceiver, on), chunks);
    const lost = new Set(plan.upStages[5]);
    for (let p = 0; p < 256; p++) expect(receiver.grid[p]).toBe(lost.has(p) ? UNKNOWN : image[p]);
    expect(receiver.completeStages()).toBe(5);
  }, 60_000);

  it('an inpainting mask that empties a stage does not block the stages after it', async () => {
    // stage 0 of this schedule: every one of its cells under the mask, so it uploads nothing
    const stage0 = Array.from(buildSchedule({ width: 16, height: 16, stages: 8, kind: 'cosine', seed: 3 }).stages[0] as Uint16Array);
    const plan = planRequest({ ...base, task: 'inpaint', mask: maskFromPositions([...new Set([...hole, ...stage0])], 16, 16) } as TaskMessage);
    expect(plan.upStages[0]?.length).toBe(0);
    const receiver = new UploadReceiver(plan, coding);
    await receive((on) => new DecodeQueue(receiver.stageReceiver, on), await uploadAll(plan));
    expect(receiver.completeStages()).toBe(plan.upStages.length);
    for (const st of plan.upStages) for (const p of st) expect(receiver.grid[p]).toBe(image[p]);
  }, 60_000);
});

describe('generation: StepSender → StepReceiver', () => {
  /** Steps as a generator would produce them: the target cells in 4 steps, tokens from the image. */
  function generated(plan: RequestPlan) {
    const order = shuffle(Array.from(plan.target), 5);
    const per = Math.ceil(order.length / 4);
    return [0, 1, 2, 3].map((step) => {
      const positions = Uint16Array.from(order.slice(step * per, (step + 1) * per));
      return { step, positions, tokens: Array.from(positions, (p) => image[p] as number) };
    });
  }

  async function sendSteps(plan: RequestPlan, store = new ChunkStore()) {
    const sender = new StepSender(plan, coding, store);
    const out: { message: StepMessage; chunks: Uint8Array[] }[] = [];
    // the upload as the cloud holds it, growing between steps (as it does while generating)
    for (const [i, step] of generated(plan).entries()) out.push(await sender.code(step, image, Math.min(plan.upStages.length, 4 + i)));
    return out;
  }

  for (const [name, reliableStages] of [['reliable', undefined], ['partially reliable', 4]] as const) {
    it(`${name}: chunks before their step message, reversed, still decode exactly`, async () => {
      const plan = planRequest({ ...base, task: 'inpaint', mask: maskFromPositions(hole, 16, 16), ...(reliableStages ? { reliableStages } : {}) } as TaskMessage);
      const steps = await sendSteps(plan);
      const receiver = new StepReceiver(plan, coding, image);
      const results: DecodeResult[] = [];
      const queue = new DecodeQueue(receiver.stageReceiver, (r) => results.push(r));
      for (const c of steps.flatMap((s) => s.chunks).reverse()) queue.push(readChunk(c));
      for (const { message } of steps) {
        receiver.announce(message);
        queue.retry();
      }
      await queue.idle();
      expect(results.flatMap((r) => r.failures)).toEqual([]);
      expect(receiver.generatedAll()).toBe(true);
      for (const p of plan.target) expect(receiver.generated[p]).toBe(image[p]);
      expect(receiver.decodedTokens()).toBe(plan.target.length);
    }, 60_000);
  }

  it('a step announced out of order, on the wrong stream, or naming closed cells is a typed error', async () => {
    const plan = planRequest({ ...base, task: 'inpaint', mask: maskFromPositions(hole, 16, 16) } as TaskMessage);
    const steps = await sendSteps(plan);
    const code = (f: () => void) => {
      try {
        f();
      } catch (err) {
        return isProtocolError(err) ? err.code : String(err);
      }
      return 'accepted';
    };
    const receiver = new StepReceiver(plan, coding, image);
    expect(code(() => receiver.announce(steps[1]!.message))).toBe(ErrorCode.InvalidField);
    expect(code(() => receiver.announce({ ...steps[0]!.message, stream: 7 }))).toBe(ErrorCode.InvalidField);
    expect(code(() => receiver.announce({ ...steps[0]!.message, upStages: 9 }))).toBe(ErrorCode.InvalidField);
    receiver.announce(steps[0]!.message);
    // step 1's bitmap is over the cells still open after step 0; step 0's again no longer fits
    expect(code(() => receiver.announce({ ...steps[0]!.message, stage: 1 }))).not.toBe('accepted');
  }, 60_000);

  it('a duplicate copy is refused and not NACKed (the same bytes again would be refused again, forever)', async () => {
    const plan = planRequest({ ...base, task: 'inpaint', mask: maskFromPositions(hole, 16, 16) } as TaskMessage);
    const steps = await sendSteps(plan);
    const receiver = new StepReceiver(plan, coding, image);
    receiver.announce(steps[0]!.message);
    const first = await receiver.stageReceiver.push(readChunk(steps[0]!.chunks[0]!));
    expect(first.failures).toEqual([]);
    const again = await receiver.stageReceiver.push(readChunk(steps[0]!.chunks[0]!));
    expect(again.failures.map((f) => f.error.code)).toEqual([ErrorCode.Duplicate]);
    expect(nackFor(again.failures[0]!)).toBeUndefined();
    // damage in transit is what a resend repairs
    const bent = Uint8Array.from(steps[0]!.chunks[0]!);
    // the first coded byte (a flip in the coder's flushed tail may change nothing it decodes)
    bent[readChunk(bent).headerBytes]! ^= 0xff;
    const receiver2 = new StepReceiver(plan, coding, image);
    receiver2.announce(steps[0]!.message);
    const damaged = await receiver2.stageReceiver.push(readChunk(bent));
    expect(damaged.failures).toHaveLength(1);
    expect(nackFor(damaged.failures[0]!)).toMatchObject({ type: 'nack', stage: 0, chunks: [0] });
  }, 60_000);

  it('the chunk store answers a NACK with the same bytes: listed chunks, or the whole stage', async () => {
    const plan = planRequest({ ...base, task: 'inpaint', mask: maskFromPositions(hole, 16, 16) } as TaskMessage);
    const store = new ChunkStore();
    const steps = await sendSteps(plan, store);
    const stage = steps[2]!.chunks;
    const nack = { type: 'nack', stream: plan.downStream, message: base.requestId, stage: 2 } as const;
    expect(store.answer({ ...nack, chunks: [0] })).toEqual([stage[0]]);
    expect(store.answer({ ...nack, chunks: [] })).toEqual(stage);
    expect(store.answer({ ...nack, chunks: [999] })).toEqual([]);
    expect(store.answer({ ...nack, stage: 77, chunks: [] })).toEqual([]);
    store.forget(base.requestId);
    expect(store.answer({ ...nack, chunks: [] })).toEqual([]);
  }, 60_000);
});

describe('EarlyChunks', () => {
  const chunk = (message: number, n: number) => ({ bytes: new Uint8Array(n).fill(message), header: { message } as never, headerBytes: 0 });

  it('holds chunks for a request not known yet, hands them over once, in order', () => {
    const early = new EarlyChunks({ maxChunks: 4, maxBytes: 100, maxAgeMs: 1000 });
    expect(early.hold(1, chunk(1, 10))).toBe(true);
    expect(early.hold(2, chunk(2, 10))).toBe(true);
    expect(early.hold(1, { ...chunk(1, 10), bytes: new Uint8Array(10).fill(9) })).toBe(true);
    expect(early.take(1).map((c) => c.bytes[0])).toEqual([1, 9]);
    expect(early.take(1)).toEqual([]);
    expect(early.size).toEqual({ chunks: 1, bytes: 10 });
  });

  it('refuses beyond its bounds and forgets what is too old', () => {
    let now = 0;
    const early = new EarlyChunks({ maxChunks: 2, maxBytes: 25, maxAgeMs: 1000 }, () => now);
    expect(early.hold(1, chunk(1, 20))).toBe(true);
    expect(early.hold(2, chunk(2, 10))).toBe(false); // bytes
    expect(early.hold(2, chunk(2, 5))).toBe(true);
    expect(early.hold(3, chunk(3, 1))).toBe(false); // count
    now = 1001;
    expect(early.hold(3, chunk(3, 1))).toBe(true); // the old ones were dropped first
    expect(early.take(1)).toEqual([]);
    expect(early.size).toEqual({ chunks: 1, bytes: 1 });
  });
});
