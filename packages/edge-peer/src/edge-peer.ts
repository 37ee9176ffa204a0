import { Observable, Subject, concatMap, defer, filter, firstValueFrom, map, take, timeout, type Subscription } from 'rxjs';
import {
  ErrorCode,
  ProtocolError,
  bpeDecode,
  bpeEncode,
  compressText,
  decodeChunk,
  decodeControl,
  encodeControl,
  isProtocolError,
  PROTOCOL_VERSION,
  maskFromPositions,
  subsetFromMask,
  type ControlMessage,
  type ExtensionSide,
  type OpenMessage,
  type ResultMessage,
  type ScheduleKind,
  type TaskMessage,
  type TaskName,
} from '@unimic/protocol';
import { UNKNOWN, yieldToEventLoop, type LoadedPack } from '@unimic/models';
import { ChunkStore, StageReceiver, hasTextModel, planRequest, uploadContextStages, windowContext, type ModelTable, type RequestPlan } from '@unimic/session';
import type { PeerTransport } from '@unimic/transport';

/*
 * The edge side of a session: sends a task and the token subset it needs, stage by stage, and
 * decodes the cloud's generation steps progressively as they land (each step as soon as its
 * `step` message, its chunks and every earlier step are in). Everything it shows is derived from
 * tokens; the pixels never leave the edge.
 */

export interface EdgeTask {
  readonly task: TaskName;
  readonly requestId: number;
  /** The edge's image tokens (16x16 raster), for every task but text-to-image. */
  readonly grid?: Int32Array;
  /** Prompt (t2i, optional for inpainting/outpainting) or question (VQA). */
  readonly text?: string;
  /** Inpainting: the cells to regenerate. */
  readonly region?: ArrayLike<number>;
  readonly outpaint?: { readonly side: ExtensionSide; readonly amount: number };
  readonly schedule?: { readonly kind: ScheduleKind; readonly stages: number; readonly seed: number };
  /** MaskGIT steps the cloud should take. */
  readonly steps?: number;
  /** Ask the cloud to wait for this many upload stages before generating (see TaskMessage). */
  readonly startAfter?: number;
  /**
   * Upload stages sent reliably when the tokens channel is partially reliable (default 4 then;
   * ignored on a reliable channel). See TaskMessage.reliableStages.
   */
  readonly reliableStages?: number;
  /** The request fails with ERR_TIMEOUT if no result came by then (default 120 s). */
  readonly deadlineMs?: number;
}

/** A token grid with its size (the outpainting canvas is wider or taller than the model grid). */
export interface SizedGrid {
  readonly width: number;
  readonly height: number;
  readonly tokens: Int32Array;
}

export type EdgeEvent =
  | { readonly type: 'upload-stage'; readonly stage: number; readonly cells: number; readonly bytes: number; readonly at: number }
  | { readonly type: 'step'; readonly step: number; readonly cells: number; readonly bytes: number; readonly grid: SizedGrid; readonly done: boolean; readonly at: number }
  | { readonly type: 'answer'; readonly tokens: readonly number[]; readonly text: string; readonly done: boolean; readonly at: number }
  | {
      readonly type: 'result';
      readonly result: ResultMessage;
      /** Token chunk bytes each way (headers included), as seen by the edge. */
      readonly bytesUp: number;
      readonly bytesDown: number;
      /** Of which chunk headers, both ways. */
      readonly headerBytes: number;
      /**
       * Control messages of this request, both ways (task, step, answer, done, nack, result; for a
       * chunk sent as a control message only its wrapping): the bytes besides the token chunks.
       */
      readonly controlBytes: number;
      /** The final output; cells lost on a partially reliable channel are UNKNOWN. */
      readonly grid: SizedGrid;
      /** Generated cells that never arrived (partially reliable sessions). */
      readonly lostCells: number;
      readonly at: number;
    };

export interface EdgePeerOptions {
  readonly transport: PeerTransport;
  readonly pack: LoadedPack;
  /** Entropy models by chunk-header index (the cloud's list): `SessionModels.list`. */
  readonly models: ModelTable;
  /** Upload stages up to this many cells are coded with the context-free model (default CONTEXT_FREE_MAX_CELLS). */
  readonly contextFreeMaxCells?: number;
  /** Decode the cloud's steps before coding more of the upload (default true: earlier previews). */
  readonly downstreamFirst?: boolean;
}

/** After the cloud's result, how long chunks still in flight on a lossy channel are waited for. */
const LOSS_GRACE_MS = 300;

export class EdgePeer {
  private readonly control$ = new Subject<ControlMessage>();
  private readonly chunks$ = new Subject<Uint8Array>();
  private readonly subs: Subscription[] = [];
  private readonly store = new ChunkStore();
  private readonly ready: Promise<OpenMessage>;

  constructor(private readonly opts: EdgePeerOptions) {
    const { transport } = opts;
    this.subs.push(
      transport.control.messages$.subscribe((bytes) => {
        try {
          this.control$.next(decodeControl(bytes));
        } catch (err) {
          if (!isProtocolError(err)) throw err;
        }
      }),
      transport.tokens.messages$.subscribe((b) => this.chunks$.next(b)),
      this.control$.pipe(filter((m) => m.type === 'nack')).subscribe((m) => {
        if (m.type !== 'nack') return;
        const again = m.chunks.length ? this.store.resend(m.stream, m.message, m.stage, m.chunks) : this.store.stage(m.stream, m.message, m.stage);
        for (const c of again) void transport.tokens.send(c).catch(() => undefined);
      }),
    );
    this.ready = firstValueFrom(
      this.control$.pipe(
        filter((m): m is OpenMessage => m.type === 'open' || m.type === 'error'),
        map((m) => {
          if (m.type !== 'open') throw new ProtocolError(ErrorCode.InvalidField, `cloud refused the session: ${(m as { message?: string }).message ?? ''}`);
          return m;
        }),
        take(1),
        timeout(15_000),
      ),
    );
  }

  /** Opens the session: proves the pack, learns what the cloud can do. */
  async open(): Promise<OpenMessage> {
    const { pack } = this.opts;
    await this.send({
      type: 'open',
      protocolVersion: PROTOCOL_VERSION,
      role: 'edge',
      pack: { id: pack.manifest.id, sha256: pack.digest },
      capabilities: { models: this.opts.models.map((m) => m.name), tasks: ['t2i', 'inpaint', 'outpaint', 'vqa'], maxChunkBytes: 1200 },
    });
    const cloud = await this.ready;
    const mine = this.opts.models.map((m) => m.name).join(',');
    if (cloud.capabilities.models.join(',') !== mine) {
      throw new ProtocolError(ErrorCode.InvalidField, `model lists differ: edge [${mine}], cloud [${cloud.capabilities.models.join(',')}]`);
    }
    return cloud;
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
  }

  private async send(msg: ControlMessage) {
    await this.opts.transport.control.send(encodeControl(msg));
  }

  /** Runs one request: a cold observable of progress events that completes with the result. */
  run(t: EdgeTask): Observable<EdgeEvent> {
    return new Observable<EdgeEvent>((subscriber) => {
      const run = new EdgeRequest(this.opts, t, this.store, (m) => this.send(m));
      const subs = [
        this.control$.subscribe((m) => run.control(m)),
        this.chunks$.subscribe((b) => run.chunk(b)),
        run.events$.subscribe(subscriber),
        // a lost link ends the request at once, not at its deadline
        this.opts.transport.state$.pipe(filter((s) => s === 'closed' || s === 'failed')).subscribe((s) => run.lost(s)),
      ];
      run.start().catch((err) => subscriber.error(err));
      return () => {
        run.stop();
        for (const s of subs) s.unsubscribe();
        this.store.forget(t.requestId);
      };
    });
  }
}

class EdgeRequest {
  readonly events$ = new Subject<EdgeEvent>();
  private readonly plan: RequestPlan;
  private readonly task: TaskMessage;
  private readonly original: Int32Array;
  private readonly steps = new Map<number, { cells: Uint16Array; upStages: number }>();
  /** Target cells no step has named yet, ascending (the cloud keeps the same list). */
  private open: number[] = [];
  private readonly generated: Int32Array;
  private readonly receiver: StageReceiver;
  private readonly inbox = new Subject<Uint8Array | null>();
  /** Inbox items not processed yet, and who waits for none to be left. */
  private queued = 0;
  private idleWaiters: (() => void)[] = [];
  /** Bytes received per generation step (all its chunks, headers included). */
  private readonly stepBytes = new Map<number, number>();
  private readonly sub: Subscription;
  private readonly codingText: readonly number[] | undefined;
  private readonly answer: number[] = [];
  private bytesUp = 0;
  private bytesDown = 0;
  private headerBytes = 0;
  private controlBytes = 0;
  private stepsDone = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private finished = false;

  constructor(
    private readonly opts: EdgePeerOptions,
    private readonly t: EdgeTask,
    private readonly store: ChunkStore,
    private readonly sendControl: (m: ControlMessage) => Promise<void>,
  ) {
    const { width, downsample } = opts.pack.manifest.image;
    const side = width / downsample;
    const cells = side * side;
    if (t.task !== 't2i' && (!t.grid || t.grid.length !== cells)) throw new ProtocolError(ErrorCode.InvalidArgument, `${t.task} needs the image's ${cells} tokens`);
    this.original = t.grid ? Int32Array.from(t.grid) : new Int32Array(cells).fill(UNKNOWN);
    const text = t.text ?? '';
    this.task = {
      type: 'task',
      requestId: t.requestId,
      task: t.task,
      grid: { width: side, height: side },
      schedule: t.schedule ?? { kind: 'cosine', stages: 8, seed: t.requestId },
      ...(text ? { text: compressText(text) } : {}),
      ...(t.task === 'inpaint' ? { mask: maskFromPositions(t.region ?? [], side, side) } : {}),
      ...(t.task === 'outpaint' ? { outpaint: t.outpaint ?? { side: 'right', amount: 8 } } : {}),
      ...(t.steps ? { steps: t.steps } : {}),
      ...(t.startAfter !== undefined ? { startAfter: t.startAfter } : {}),
      ...(opts.transport.reliability.mode !== 'reliable' ? { reliableStages: t.reliableStages ?? 4 } : {}),
    };
    this.plan = planRequest(this.task, side);
    this.open = Array.from(this.plan.target).sort((a, b) => a - b);
    const ids = text ? Array.from(bpeEncode(text)) : [];
    this.codingText = t.task !== 'vqa' && ids.length > 0 && hasTextModel(opts.models) ? ids : undefined;
    this.generated = new Int32Array(cells).fill(UNKNOWN);
    this.receiver = new StageReceiver(
      {
        positionsOf: (s) => this.steps.get(s)?.cells,
        contextFor: (s) => this.stepContext(s),
        apply: (u) => u.cells.forEach((c, j) => (this.generated[c] = u.tokens[j] as number)),
      },
      opts.models,
      this.codingText,
    );
    this.sub = this.inbox.pipe(concatMap((b) => defer(() => (b ? this.receiver.push(b) : this.receiver.drain())))).subscribe(({ updates, failures }) => {
      if (--this.queued === 0) for (const w of this.idleWaiters.splice(0)) w();
      for (const u of updates) {
        if (u.complete) {
          this.stepsDone++;
          this.events$.next({ type: 'step', step: u.stage, cells: this.steps.get(u.stage)?.cells.length ?? u.cells.length, bytes: this.stepBytes.get(u.stage) ?? 0, grid: this.output(), done: this.generatedAll(), at: performance.now() });
        }
      }
      for (const f of failures) {
        if (f.header) void this.send({ type: 'nack', stream: f.header.stream, message: f.header.message, stage: f.header.stage, chunks: [f.header.chunkIndex] }).catch(() => undefined);
      }
      this.maybeFinish();
    });
  }

  private send(m: ControlMessage): Promise<void> {
    this.controlBytes += controlSize(m);
    return this.sendControl(m);
  }

  private generatedAll(): boolean {
    return this.plan.target.every((p) => this.generated[p] !== UNKNOWN);
  }

  /** What the cloud coded step s against: the upload prefix it names + earlier steps. */
  private stepContext(s: number): Int32Array | undefined {
    const info = this.steps.get(s);
    if (!info) return undefined;
    const partial = this.plan.reliableStages !== null;
    if (!partial) for (let i = 0; i < s; i++) if (!this.receiver.complete(i)) return undefined;
    const prefix = new Int32Array(this.original.length).fill(UNKNOWN);
    for (const st of this.plan.upStages.slice(0, info.upStages)) for (const p of st) prefix[p] = this.original[p] as number;
    const ctx = windowContext(this.plan, prefix, UNKNOWN);
    if (!partial) for (let i = 0; i < s; i++) for (const p of this.steps.get(i)?.cells ?? []) ctx[p] = this.generated[p] as number;
    return ctx;
  }

  /** The output so far: the model window (inpainting, t2i) or the whole canvas (outpainting). */
  output(): SizedGrid {
    const window = windowContext(this.plan, this.original, UNKNOWN);
    for (const p of this.plan.target) window[p] = this.generated[p] as number;
    const { canvas, windowToCanvas } = this.plan;
    if (!canvas || !windowToCanvas) return { width: this.plan.side, height: this.plan.side, tokens: window };
    const tokens = new Int32Array(canvas.width * canvas.height).fill(UNKNOWN);
    canvas.oldToNew.forEach((np, old) => (tokens[np] = this.original[old] as number));
    windowToCanvas.forEach((cp, i) => this.plan.target.includes(i) && (tokens[cp] = window[i] as number));
    return { width: canvas.width, height: canvas.height, tokens };
  }

  private result: ResultMessage | undefined;
  private graceOver = false;
  private answerDone = false;

  control(m: ControlMessage) {
    if (this.finished) return;
    if ('requestId' in m && m.requestId !== this.t.requestId) return;
    if ('requestId' in m) this.controlBytes += controlSize(m);
    switch (m.type) {
      case 'step': {
        if (m.stream !== this.plan.downStream) return;
        let cells: Uint16Array;
        try {
          // steps come in order on the ordered control channel, each naming its cells among the open ones
          if (m.stage !== this.steps.size) throw new ProtocolError(ErrorCode.InvalidField, `step ${m.stage} announced after ${this.steps.size} steps`);
          cells = subsetFromMask(this.open, m.cells);
        } catch (err) {
          return this.fail(err as ProtocolError);
        }
        const done = new Set(cells);
        this.open = this.open.filter((c) => !done.has(c));
        this.steps.set(m.stage, { cells, upStages: m.upStages });
        this.enqueue(null); // chunks of this step may be waiting
        return;
      }
      case 'answer':
        this.answer.push(...m.tokens);
        if (m.done) this.answerDone = true;
        this.events$.next({ type: 'answer', tokens: m.tokens, text: bpeDecode(this.answer), done: m.done, at: performance.now() });
        return this.maybeFinish();
      case 'result':
        this.result = m;
        if (this.plan.reliableStages !== null) {
          // chunks still in flight on the lossy channel may trail the result: wait a little
          setTimeout(() => ((this.graceOver = true), this.maybeFinish()), LOSS_GRACE_MS);
        }
        return this.maybeFinish();
      case 'error':
        return this.fail(new ProtocolError(ErrorCode.Remote, `cloud: ${m.code}: ${m.message}`));
      default:
        return;
    }
  }

  chunk(bytes: Uint8Array) {
    if (this.finished) return;
    let h;
    let payload;
    try {
      ({ header: h, payload } = decodeChunk(bytes));
    } catch {
      return;
    }
    if (h.message !== this.t.requestId || h.stream !== this.plan.downStream) return;
    this.bytesDown += bytes.length;
    this.headerBytes += bytes.length - payload.length;
    this.stepBytes.set(h.stage, (this.stepBytes.get(h.stage) ?? 0) + bytes.length);
    this.enqueue(bytes);
  }

  private enqueue(item: Uint8Array | null) {
    this.queued++;
    this.inbox.next(item);
  }

  /** Resolves when every received chunk has been decoded (or waits for its step's cells). */
  private downstreamIdle(): Promise<void> {
    return this.queued === 0 || this.finished ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private maybeFinish() {
    const r = this.result;
    if (!r || this.finished) return;
    const complete = this.t.task === 'vqa' ? this.answerDone : !r.ok || this.generatedAll() || this.graceOver;
    if (!complete) return;
    this.finished = true;
    clearTimeout(this.timer);
    for (const w of this.idleWaiters.splice(0)) w();
    if (!r.ok) return this.fail(new ProtocolError(ErrorCode.Remote, `request ${r.requestId} failed at the cloud`));
    const grid = this.output();
    const lostCells = this.plan.target.filter((p) => this.generated[p] === UNKNOWN).length;
    this.events$.next({ type: 'result', result: r, bytesUp: this.bytesUp, bytesDown: this.bytesDown, headerBytes: this.headerBytes, controlBytes: this.controlBytes, grid, lostCells, at: performance.now() });
    this.events$.complete();
  }

  /** The transport closed or failed: the request cannot finish. */
  lost(state: string) {
    if (this.finished) return;
    this.fail(new ProtocolError(ErrorCode.ConnectionLost, `request ${this.t.requestId}: the connection ${state === 'failed' ? 'failed (peer lost)' : 'closed'} mid-request`));
  }

  private fail(err: ProtocolError) {
    this.finished = true;
    clearTimeout(this.timer);
    for (const w of this.idleWaiters.splice(0)) w();
    this.events$.error(err);
  }

  stop() {
    this.finished = true;
    clearTimeout(this.timer);
    for (const w of this.idleWaiters.splice(0)) w();
    this.sub.unsubscribe();
  }

  async start(): Promise<void> {
    const deadline = this.t.deadlineMs ?? 120_000;
    this.timer = setTimeout(() => this.fail(new ProtocolError(ErrorCode.Timeout, `request ${this.t.requestId}: no result within ${deadline} ms`)), deadline);
    await this.send(this.task);
    // a wasm model run blocks this thread: let the transport put what it was handed on the wire
    // first (werift sends through promise chains; a 100 ms run held the task message back 100 ms)
    await yieldToEventLoop();
    if (this.plan.upStream === null) return;
    const reliable = this.plan.reliableStages;
    for (const [stage, positions] of this.plan.upStages.entries()) {
      // the cloud's steps, once they come, are on the path to the user's preview: decode them
      // before coding more of the upload (which only refines the cloud's later steps)
      if (this.opts.downstreamFirst !== false) await this.downstreamIdle();
      if (this.finished) return;
      if (positions.length === 0) continue;
      const context = new Int32Array(this.original.length).fill(UNKNOWN);
      for (const st of this.plan.upStages.slice(0, uploadContextStages(this.plan, stage))) for (const p of st) context[p] = this.original[p] as number;
      const chunks = await this.store.code({
        models: this.opts.models,
        ...(this.opts.contextFreeMaxCells !== undefined ? { contextFreeMaxCells: this.opts.contextFreeMaxCells } : {}),
        context,
        positions,
        tokens: Array.from(positions, (p) => this.original[p] as number),
        ...(this.codingText ? { text: this.codingText } : {}),
        stream: this.plan.upStream,
        message: this.t.requestId,
        stage,
      });
      // partially reliable: the stages the others are coded against go on the reliable channel
      if (reliable !== null && stage < reliable) for (const c of chunks) await this.send({ type: 'chunk', data: c });
      else for (const c of chunks) await this.opts.transport.tokens.send(c);
      await yieldToEventLoop(); // on the wire before the next stage's model run
      const bytes = chunks.reduce((a, c) => a + c.length, 0);
      this.bytesUp += bytes;
      this.headerBytes += chunks.reduce((a, c) => a + c.length - decodeChunk(c).payload.length, 0);
      this.events$.next({ type: 'upload-stage', stage, cells: positions.length, bytes, at: performance.now() });
    }
    await this.send({ type: 'done', requestId: this.t.requestId, stream: this.plan.upStream, stages: this.plan.upStages.length });
  }
}

/** A control message's size on the wire; a chunk carried as one counts only its wrapping. */
function controlSize(m: ControlMessage): number {
  return encodeControl(m).length - (m.type === 'chunk' ? m.data.length : 0);
}
