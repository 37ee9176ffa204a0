import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { filter, firstValueFrom, lastValueFrom, tap, timeout, toArray } from 'rxjs';
import { UNKNOWN, loadPack, type LoadedPack } from '@unimic/models';
import { folderReader } from '@unimic/models/node';
import { wasmRuntime } from '@unimic/models/wasm';
import {
  ErrorCode,
  PROTOCOL_VERSION,
  STREAM_IDS,
  bpeEncode,
  createRng,
  decompressText,
  installBrotli,
  isProtocolError,
  loadBrotli,
  type ControlMessage,
  type NackMessage,
  type ResultMessage,
  type StepMessage,
  type TaskMessage,
} from '@unimic/protocol';
import {
  CODING_MODEL_ROLES,
  ChunkStore,
  DecodeQueue,
  StepSender,
  UploadReceiver,
  codingModels,
  codingPrompt,
  planRequest,
  readChunk,
  type CodingModels,
  type ReceivedChunk,
  type RequestCoding,
  type RequestPlan,
} from '@unimic/session';
import { createPeerPair, type WeriftPeer } from '@unimic/transport';
import { CENTRE_HOLE, HAS_MASKED_MODEL, PACK_DIR, ScriptedPeer, kodakGrid, sleep, until } from '../../../test/fixtures/request-script.ts';
import { EdgePeer, type EdgeEvent, type EdgeTask } from '../src/index.ts';

/*
 * The edge's request pipeline against a scripted cloud.
 *
 * Real: the EdgePeer, a werift pair on loopback (edge = offerer), the pack's ONNX entropy models
 * (wasm), the session coder on both sides (the script codes steps with StepSender/ChunkStore and
 * decodes the upload with UploadReceiver), the protocol's control encoding.
 * Scripted: the cloud. It answers `open`, and per task does what each test says: which tokens
 * it "generated" (cells of a Kodak grid), in which order chunks and `step` messages go, what the
 * `result` claims. The edge is observed through its EdgeEvents and what it sends on the wire.
 */

/** What the scripted cloud "generates": a real image's tokens, so the coder sees real statistics. */
const generated = kodakGrid('kodim23.png');
const photo = kodakGrid('kodim04.png');
const hole = CENTRE_HOLE;


/** A request as the scripted cloud sees it: the plan and coding both peers derive from the task. */
interface CloudRequest {
  readonly task: TaskMessage;
  readonly plan: RequestPlan;
  readonly coding: RequestCoding;
}

/** The scripted cloud on the answerer side of the pair. */
class ScriptedCloud extends ScriptedPeer {
  onTask: (r: CloudRequest) => Promise<void> = async () => undefined;
  /** A failure of the script itself (it runs in a message callback: the test rethrows it). */
  scriptError: unknown;

  constructor(
    transport: WeriftPeer,
    private readonly models: CodingModels,
  ) {
    super(transport);
  }

  protected override onControl(m: ControlMessage): void {
    const models = this.models;
    if (m.type === 'open') {
      void this.send({ type: 'open', protocolVersion: PROTOCOL_VERSION, role: 'cloud', pack: m.pack, capabilities: { models: models.list.map((x) => x.name), tasks: ['t2i', 'inpaint'], maxChunkBytes: 1200 } });
    }
    if (m.type === 'task') {
      const plan = planRequest(m);
      const prompt = codingPrompt(m.task, m.text ? Array.from(bpeEncode(decompressText(m.text))) : [], models.list);
      this.onTask({ task: m, plan, coding: { models: models.list, ...(prompt ? { text: prompt } : {}) } }).catch((err: unknown) => (this.scriptError = err));
    }
  }

  /** What the edge sent of one type. */
  async sent<T extends ControlMessage['type']>(type: T): Promise<Extract<ControlMessage, { type: T }>[]> {
    const all: ControlMessage[] = [];
    this.control$.subscribe((m) => all.push(m)).unsubscribe(); // the replay, synchronously
    return all.filter((m): m is Extract<ControlMessage, { type: T }> => m.type === type);
  }
}

interface CodedStep {
  readonly message: StepMessage;
  readonly chunks: Uint8Array[];
  readonly cells: number;
}

/**
 * The cloud's generation, scripted: the target cells in `n` steps of a seeded shuffled order
 * (MaskGIT commits cells by confidence, not raster order), each step's tokens taken from
 * `tokens`, coded with the real StepSender against the first `upStages` stages of `upload`.
 */
async function codeSteps(r: CloudRequest, n: number, tokens: Int32Array, upload: Int32Array, upStages: number, store = new ChunkStore()): Promise<CodedStep[]> {
  const rng = createRng(11);
  const order = Array.from(r.plan.target);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor((rng() / 2 ** 32) * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const sender = new StepSender(r.plan, r.coding, store);
  const out: CodedStep[] = [];
  const per = Math.ceil(order.length / n);
  for (let t = 0; t < n; t++) {
    const positions = Uint16Array.from(order.slice(t * per, (t + 1) * per));
    const step = await sender.code({ step: t, positions, tokens: Array.from(positions, (p) => tokens[p] as number) }, upload, upStages);
    out.push({ ...step, cells: positions.length });
  }
  return out;
}

function result(r: CloudRequest, steps: readonly CodedStep[], over: Partial<ResultMessage> = {}): ResultMessage {
  return {
    type: 'result',
    requestId: r.task.requestId,
    ok: true,
    tokensUp: 0,
    tokensDown: steps.reduce((a, s) => a + s.cells, 0),
    bytesUp: 0,
    bytesDown: steps.reduce((a, s) => a + s.chunks.reduce((b, c) => b + c.length, 0), 0),
    stagesUsed: 0,
    elapsedMs: 1,
    ...over,
  };
}

/** Runs a request to its end: every event (pushed to `events` as they come), and the error it ended with. */
async function runToEnd(edge: EdgePeer, t: EdgeTask, events: EdgeEvent[] = []): Promise<{ events: EdgeEvent[]; error: unknown }> {
  try {
    await lastValueFrom(edge.run(t).pipe(tap((e) => events.push(e)), toArray()));
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

const stepEvents = (events: EdgeEvent[]) => events.filter((e): e is Extract<EdgeEvent, { type: 'step' }> => e.type === 'step');
const resultEvent = (events: EdgeEvent[]) => events.find((e): e is Extract<EdgeEvent, { type: 'result' }> => e.type === 'result');

describe.skipIf(!HAS_MASKED_MODEL)('EdgePeer request pipeline against a scripted cloud', () => {
  let pack: LoadedPack;
  let models: CodingModels;
  let pair: { offerer: WeriftPeer; answerer: WeriftPeer } | undefined;
  let edge: EdgePeer | undefined;
  /** Chunks that reached the edge's transport (the EdgePeer subscribed first: it has them too). */
  let atEdge: ReceivedChunk[];
  let unframed = 0;

  beforeAll(async () => {
    installBrotli(await loadBrotli());
    pack = await loadPack(folderReader(PACK_DIR), [...CODING_MODEL_ROLES]);
    models = await codingModels(pack, wasmRuntime());
  }, 60_000);

  afterEach(async () => {
    edge?.close();
    await Promise.all([pair?.offerer.close(), pair?.answerer.close()]);
    pair = undefined;
    edge = undefined;
  });

  async function session(): Promise<{ edge: EdgePeer; cloud: ScriptedCloud }> {
    pair = await createPeerPair({ tokens: { mode: 'reliable' } });
    const cloud = new ScriptedCloud(pair.answerer, models);
    edge = new EdgePeer({ transport: pair.offerer, pack, models: models.list });
    atEdge = [];
    unframed = 0;
    pair.offerer.tokens.messages$.subscribe((bytes) => {
      try {
        atEdge.push(readChunk(bytes));
      } catch {
        unframed++; // what the scripted cloud sent that does not frame
      }
    });
    await edge.open();
    return { edge, cloud };
  }

  const t2i = (requestId: number): EdgeTask => ({ task: 't2i', requestId, text: 'a red star', steps: 4, deadlineMs: 30_000 });

  it('decodes exactly the steps whose chunks all arrived before any `step` message', async () => {
    const { edge, cloud } = await session();
    let stepEventsBeforeAnnounce = -1;
    cloud.onTask = async (r) => {
      const steps = await codeSteps(r, 4, generated, new Int32Array(256).fill(UNKNOWN), 0);
      const chunks = steps.flatMap((s) => s.chunks);
      // every step's chunks first, last step first: nothing can decode yet
      for (const s of [...steps].reverse()) for (const c of s.chunks) await cloud.sendChunk(c);
      await until(() => atEdge.length === chunks.length, 10_000, 'the chunks at the edge');
      await sleep(100); // let the edge's decode queue settle: nothing it holds may decode yet
      stepEventsBeforeAnnounce = edgeEvents.filter((e) => e.type === 'step').length;
      for (const s of steps) await cloud.send(s.message);
      await cloud.send(result(r, steps));
    };
    const edgeEvents: EdgeEvent[] = [];
    const { events, error } = await runToEnd(edge, t2i(7), edgeEvents);
    expect(cloud.scriptError).toBeUndefined();
    expect(error).toBeUndefined();
    expect(stepEventsBeforeAnnounce).toBe(0);
    expect(stepEvents(events).map((e) => e.step)).toEqual([0, 1, 2, 3]);
    const res = resultEvent(events)!;
    expect(Array.from(res.grid.tokens)).toEqual(Array.from(generated));
    expect(res.lostCells).toBe(0);
    // every chunk was decoded once: no NACK asked for any of them again
    expect(await cloud.sent('nack')).toEqual([]);
    expect(res.bytesDown).toBe(atEdge.reduce((a, c) => a + c.bytes.length, 0));
  }, 60_000);

  it.each([
    ['one token fewer', -1],
    ['one token more', +1],
  ])('a result that claims %s than the edge decoded ends the request with ERR_MALFORMED', async (_what, delta) => {
    const { edge, cloud } = await session();
    cloud.onTask = async (r) => {
      const steps = await codeSteps(r, 4, generated, new Int32Array(256).fill(UNKNOWN), 0);
      for (const s of steps) {
        await cloud.send(s.message);
        for (const c of s.chunks) await cloud.sendChunk(c);
      }
      const honest = result(r, steps);
      await cloud.send({ ...honest, tokensDown: honest.tokensDown + delta });
    };
    const { events, error } = await runToEnd(edge, t2i(8));
    expect(cloud.scriptError).toBeUndefined();
    expect(isProtocolError(error, ErrorCode.Malformed)).toBe(true);
    expect((error as Error).message).toContain(`the cloud sent ${256 + delta} tokens, 256 decoded`);
    // it decoded every step (the tokens are right), and still refused the result: no result event
    expect(stepEvents(events).map((e) => e.step)).toEqual([0, 1, 2, 3]);
    expect(resultEvent(events)).toBeUndefined();
  }, 60_000);

  it('ignores chunks and control messages of a request it does not run: no NACK, no crash, exact output', async () => {
    const { edge, cloud } = await session();
    // a well-formed chunk of another request (real coder, stage 0 of the same stream), and bytes that do not frame
    const other = planRequest({ type: 'task', requestId: 99, task: 't2i', grid: { width: 16, height: 16 }, schedule: { kind: 'cosine', stages: 8, seed: 1 }, text: new Uint8Array([1]) });
    const stray = await codeSteps({ task: other.task, plan: other, coding: { models: models.list } }, 4, photo, new Int32Array(256).fill(UNKNOWN), 0);
    const strayChunks = stray[0]!.chunks;
    const garbage = Uint8Array.of(0xff, 0x00, 0x01, 0x02);
    const strays = async () => {
      for (const c of strayChunks) await cloud.sendChunk(c);
      await cloud.sendChunk(garbage);
    };
    // while no request runs
    await strays();
    await until(() => atEdge.length === strayChunks.length && unframed === 1, 10_000, 'the stray chunks at the edge');
    cloud.onTask = async (r) => {
      // and during the request: its chunks and its step and result messages too
      await strays();
      await cloud.send(stray[0]!.message);
      await cloud.send({ ...result(r, stray), requestId: 99 });
      const steps = await codeSteps(r, 4, generated, new Int32Array(256).fill(UNKNOWN), 0);
      for (const s of steps) {
        await cloud.send(s.message);
        for (const c of s.chunks) await cloud.sendChunk(c);
      }
      await cloud.send(result(r, steps));
    };
    const { events, error } = await runToEnd(edge, t2i(9));
    expect(cloud.scriptError).toBeUndefined();
    expect(error).toBeUndefined();
    const res = resultEvent(events)!;
    expect(Array.from(res.grid.tokens)).toEqual(Array.from(generated));
    expect(await cloud.sent('nack')).toEqual([]);
    // the stray chunks reached the edge and were not counted as this request's
    const mine = atEdge.filter((c) => c.header.message === 9);
    expect(atEdge.filter((c) => c.header.message === 99).length).toBe(2 * strayChunks.length);
    expect(unframed).toBe(2);
    expect(res.bytesDown).toBe(mine.reduce((a, c) => a + c.bytes.length, 0));
    // the session still works: a second request on it completes
    cloud.onTask = async (r) => {
      const steps = await codeSteps(r, 2, photo, new Int32Array(256).fill(UNKNOWN), 0);
      for (const s of steps) {
        await cloud.send(s.message);
        for (const c of s.chunks) await cloud.sendChunk(c);
      }
      await cloud.send(result(r, steps));
    };
    const again = await runToEnd(edge, t2i(10));
    expect(again.error).toBeUndefined();
    expect(Array.from(resultEvent(again.events)!.grid.tokens)).toEqual(Array.from(photo));
  }, 60_000);

  it('answers a NACK for an upload stage with the bytes it sent first, and nothing once the request ended', async () => {
    const { edge, cloud } = await session();
    const upStream = STREAM_IDS['image:unmasked'];
    const requestId = 11;
    const key = (c: ReceivedChunk) => `${c.header.stage}:${c.header.chunkIndex}`;
    const uploadChunks = () => cloud.chunks.filter((c) => c.header.message === requestId && c.header.stream === upStream);
    const answers: Record<string, { asked: NackMessage; got: ReceivedChunk[]; first: ReceivedChunk[] }> = {};
    let unanswered = -1;
    let decodeFailures = 0;
    let uploadExact = false;
    cloud.onTask = async (r) => {
      // the real receiver decodes the upload as it lands
      const upload = new UploadReceiver(r.plan, r.coding);
      const queue = new DecodeQueue(upload.stageReceiver, ({ failures }) => (decodeFailures += failures.length));
      const sub = cloud.chunk$.pipe(filter((c) => c.header.message === requestId && c.header.stream === upStream)).subscribe((c) => queue.push(c));
      await until(() => upload.completeStages() === r.plan.upStages.length, 20_000, 'the whole upload');
      sub.unsubscribe();
      queue.close();
      uploadExact = r.plan.upStages.every((st) => Array.from(st).every((p) => upload.grid[p] === photo[p]));
      const firstSent = new Map(uploadChunks().map((c) => [key(c), c]));
      const nonEmpty = r.plan.upStages.flatMap((st, s) => (st.length > 0 ? [s] : []));
      const ask = async (name: string, nack: NackMessage, expected: number) => {
        const before = cloud.chunks.length;
        await cloud.send(nack);
        await until(() => cloud.chunks.length === before + expected, 10_000, `the answer to ${name}`);
        const got = cloud.chunks.slice(before);
        answers[name] = { asked: nack, got, first: got.map((c) => firstSent.get(key(c))!) };
      };
      const last = nonEmpty.at(-1)!;
      const lastChunks = [...firstSent.values()].filter((c) => c.header.stage === last).length;
      await ask('whole stage', { type: 'nack', stream: upStream, message: requestId, stage: last, chunks: [] }, lastChunks);
      await ask('chunk 0', { type: 'nack', stream: upStream, message: requestId, stage: nonEmpty[0]!, chunks: [0] }, 1);
      // NACKs for what the edge never sent: nothing comes
      const before = cloud.chunks.length;
      await cloud.send({ type: 'nack', stream: upStream, message: requestId, stage: nonEmpty[0]!, chunks: [57] });
      await cloud.send({ type: 'nack', stream: upStream, message: 4242, stage: nonEmpty[0]!, chunks: [] });
      await cloud.send({ type: 'nack', stream: STREAM_IDS['image:full'], message: requestId, stage: nonEmpty[0]!, chunks: [] });
      await sleep(300);
      unanswered = cloud.chunks.length - before;
      // then finish the request: two steps coded against the whole upload
      const steps = await codeSteps(r, 2, generated, upload.grid, upload.completeStages());
      for (const s of steps) {
        await cloud.send(s.message);
        for (const c of s.chunks) await cloud.sendChunk(c);
      }
      await cloud.send(result(r, steps, { tokensUp: upload.tokens }));
    };
    const { events, error } = await runToEnd(edge, { task: 'inpaint', requestId, grid: photo, region: hole, steps: 2, deadlineMs: 40_000 });
    expect(cloud.scriptError).toBeUndefined();
    expect(error).toBeUndefined();
    expect(decodeFailures).toBe(0);
    expect(uploadExact).toBe(true);
    for (const name of ['whole stage', 'chunk 0']) {
      const a = answers[name]!;
      expect(a.got.length).toBeGreaterThan(0);
      for (const [i, c] of a.got.entries()) {
        expect(c.header.stage).toBe(a.asked.stage);
        expect(Buffer.from(c.bytes).equals(Buffer.from(a.first[i]!.bytes)), `${name}: chunk ${key(c)} re-sent with other bytes`).toBe(true);
      }
    }
    expect(answers['chunk 0']!.got[0]!.header.chunkIndex).toBe(0);
    expect(unanswered).toBe(0);
    // the output: the edge's own cells outside the hole, the "generated" ones inside
    const res = resultEvent(events)!;
    for (let i = 0; i < 256; i++) expect(res.grid.tokens[i]).toBe(hole.includes(i) ? generated[i] : photo[i]);
    // once the request ended the edge forgot its chunks: a NACK now is answered by nothing
    const after = cloud.chunks.length;
    await cloud.send(answers['whole stage']!.asked);
    await sleep(500);
    expect(cloud.chunks.length).toBe(after);
  }, 60_000);
});
