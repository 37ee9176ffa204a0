import { Observable, Subject, filter, firstValueFrom, map, take, timeout, type Subscription } from 'rxjs';
import {
  ErrorCode,
  ProtocolError,
  bpeDecode,
  bpeEncode,
  decodeControl,
  encodeControl,
  isProtocolError,
  PROTOCOL_VERSION,
  type ControlMessage,
  type ExtensionSide,
  type OpenMessage,
  type ResultMessage,
  type ScheduleKind,
  type TaskMessage,
  type TaskName,
} from '@unimic/protocol';
import { UNKNOWN, yieldToEventLoop, type LoadedPack } from '@unimic/models';
import {
  ChunkStore,
  DecodeQueue,
  SESSION_LIMITS,
  StepReceiver,
  UploadSender,
  codingPrompt,
  nackFor,
  planRequest,
  readChunk,
  windowContext,
  type ModelTable,
  type ReceivedChunk,
  type RequestCoding,
  type RequestPlan,
} from '@unimic/session';
import type { PeerTransport } from '@unimic/transport';
import { taskMessage } from './task-message.ts';

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
  /** Entropy models by chunk-header index (the cloud's list): `CodingModels.list`. */
  readonly models: ModelTable;
  /** Upload stages up to this many cells are coded with the context-free model (default CONTEXT_FREE_MAX_CELLS). */
  readonly contextFreeMaxCells?: number;
  /** Decode the cloud's steps before coding more of the upload (default true: earlier previews). */
  readonly downstreamFirst?: boolean;
}

export class EdgePeer {
  private readonly control$ = new Subject<ControlMessage>();
  private readonly chunks$ = new Subject<ReceivedChunk>();
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
      // the header is read once, here; a chunk that does not frame is nobody's
      transport.tokens.messages$.subscribe((bytes) => {
        try {
          this.chunks$.next(readChunk(bytes));
        } catch (err) {
          if (!isProtocolError(err)) throw err;
        }
      }),
      this.control$.pipe(filter((m) => m.type === 'nack')).subscribe((m) => {
        if (m.type !== 'nack') return;
        for (const c of this.store.answer(m)) void transport.tokens.send(c).catch(() => undefined);
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
        timeout(SESSION_LIMITS.openTimeoutMs),
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
      capabilities: { models: this.opts.models.map((m) => m.name), tasks: ['t2i', 'inpaint', 'outpaint', 'vqa'], maxChunkBytes: SESSION_LIMITS.maxChunkBytes },
    });
    const cloud = await this.ready;
    const mine = this.opts.models.map((m) => m.name).join(',');
    if (cloud.capabilities.models.join(',') !== mine) {
      throw new ProtocolError(ErrorCode.InvalidField, `model lists differ: edge [${mine}], cloud [${cloud.capabilities.models.join(',')}]`);
    }
    return cloud;
  }

  /** Ends the session: tells the cloud (best effort) so it stops this edge's requests at once. */
  close(): void {
    void this.send({ type: 'close', reason: 'edge closed the session' }).catch(() => undefined);
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
        this.chunks$.subscribe((c) => run.chunk(c)),
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

/** Bytes of one request as the edge sees them. */
interface ByteCounts {
  up: number;
  down: number;
  headers: number;
  control: number;
}

/*
 * One request at the edge: the upload loop (UploadSender), the cloud's steps decoded as they land
 * (StepReceiver behind a DecodeQueue), the answer, and the end (result, loss grace, deadline,
 * lost link). What it emits is the front end's: events, previews, byte counts.
 */
class EdgeRequest {
  readonly events$ = new Subject<EdgeEvent>();
  private readonly plan: RequestPlan;
  private readonly task: TaskMessage;
  /** The edge's own image tokens (UNKNOWN for text-to-image). */
  private readonly original: Int32Array;
  private readonly coding: RequestCoding;
  private readonly steps: StepReceiver;
  private readonly queue: DecodeQueue;
  /** Bytes received per generation step (all its chunks, headers included). */
  private readonly stepBytes = new Map<number, number>();
  private readonly answer: number[] = [];
  private readonly bytes: ByteCounts = { up: 0, down: 0, headers: 0, control: 0 };
  private result: ResultMessage | undefined;
  private answerDone = false;
  private graceOver = false;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private finished = false;

  constructor(
    private readonly opts: EdgePeerOptions,
    private readonly t: EdgeTask,
    private readonly store: ChunkStore,
    private readonly sendControl: (m: ControlMessage) => Promise<void>,
  ) {
    const { width, downsample } = opts.pack.manifest.image;
    const side = width / downsample;
    this.task = taskMessage(t, side, opts.transport.reliability.mode !== 'reliable');
    this.plan = planRequest(this.task, side);
    this.original = t.grid ? Int32Array.from(t.grid) : new Int32Array(side * side).fill(UNKNOWN);
    const prompt = codingPrompt(t.task, t.text ? Array.from(bpeEncode(t.text)) : [], opts.models);
    this.coding = {
      models: opts.models,
      ...(prompt ? { text: prompt } : {}),
      ...(opts.contextFreeMaxCells !== undefined ? { contextFreeMaxCells: opts.contextFreeMaxCells } : {}),
    };
    this.steps = new StepReceiver(this.plan, this.coding, this.original);
    this.queue = new DecodeQueue(this.steps.stageReceiver, ({ updates, failures }) => {
      for (const u of updates) {
        if (!u.complete) continue;
        const cells = this.steps.cellsOf(u.stage)?.length ?? u.cells.length;
        this.events$.next({ type: 'step', step: u.stage, cells, bytes: this.stepBytes.get(u.stage) ?? 0, grid: this.output(), done: this.steps.generatedAll(), at: performance.now() });
      }
      for (const f of failures) {
        const nack = nackFor(f);
        if (nack) void this.send(nack).catch(() => undefined);
      }
      this.maybeFinish();
    });
  }

  private send(m: ControlMessage): Promise<void> {
    this.bytes.control += controlSize(m);
    return this.sendControl(m);
  }

  /** The output so far: the model window (inpainting, t2i) or the whole canvas (outpainting). */
  output(): SizedGrid {
    const { plan } = this;
    const window = windowContext(plan, this.original, UNKNOWN);
    for (const p of plan.target) window[p] = this.steps.generated[p] as number;
    const { canvas, windowToCanvas } = plan;
    if (!canvas || !windowToCanvas) return { width: plan.side, height: plan.side, tokens: window };
    const tokens = new Int32Array(canvas.width * canvas.height).fill(UNKNOWN);
    canvas.oldToNew.forEach((np, old) => (tokens[np] = this.original[old] as number));
    windowToCanvas.forEach((cp, i) => plan.target.includes(i) && (tokens[cp] = window[i] as number));
    return { width: canvas.width, height: canvas.height, tokens };
  }

  control(m: ControlMessage) {
    if (this.finished) return;
    if ('requestId' in m && m.requestId !== this.t.requestId) return;
    if ('requestId' in m) this.bytes.control += controlSize(m);
    switch (m.type) {
      case 'step':
        try {
          this.steps.announce(m);
        } catch (err) {
          return this.fail(err as ProtocolError);
        }
        this.queue.retry(); // chunks of this step may be waiting
        return;
      case 'answer':
        this.answer.push(...m.tokens);
        if (m.done) this.answerDone = true;
        this.events$.next({ type: 'answer', tokens: m.tokens, text: bpeDecode(this.answer), done: m.done, at: performance.now() });
        return this.maybeFinish();
      case 'result':
        this.result = m;
        if (this.plan.reliableStages !== null) {
          // chunks still in flight on the lossy channel may trail the result: wait a little
          setTimeout(() => ((this.graceOver = true), this.maybeFinish()), SESSION_LIMITS.lossGraceMs);
        }
        return this.maybeFinish();
      case 'error':
        return this.fail(new ProtocolError(ErrorCode.Remote, `cloud: ${m.code}: ${m.message}`));
      default:
        return;
    }
  }

  chunk(c: ReceivedChunk) {
    if (this.finished) return;
    const h = c.header;
    if (h.message !== this.t.requestId || h.stream !== this.plan.downStream) return;
    this.bytes.down += c.bytes.length;
    this.bytes.headers += c.headerBytes;
    this.stepBytes.set(h.stage, (this.stepBytes.get(h.stage) ?? 0) + c.bytes.length);
    this.queue.push(c);
  }

  private maybeFinish() {
    const r = this.result;
    if (!r || this.finished) return;
    const complete = this.t.task === 'vqa' ? this.answerDone : !r.ok || this.steps.generatedAll() || this.graceOver;
    if (!complete) return;
    if (!r.ok) return this.fail(new ProtocolError(ErrorCode.Remote, `request ${r.requestId} failed at the cloud`));
    // on a reliable channel every token the cloud says it sent has arrived and decoded
    if (this.t.task !== 'vqa' && this.plan.reliableStages === null && this.steps.decodedTokens() !== r.tokensDown) {
      return this.fail(new ProtocolError(ErrorCode.Malformed, `request ${r.requestId}: the cloud sent ${r.tokensDown} tokens, ${this.steps.decodedTokens()} decoded`));
    }
    this.end();
    this.events$.next({
      type: 'result',
      result: r,
      bytesUp: this.bytes.up,
      bytesDown: this.bytes.down,
      headerBytes: this.bytes.headers,
      controlBytes: this.bytes.control,
      grid: this.output(),
      lostCells: this.steps.missingCells(),
      at: performance.now(),
    });
    this.events$.complete();
  }

  /** The transport closed or failed: the request cannot finish. */
  lost(state: string) {
    if (this.finished) return;
    this.fail(new ProtocolError(ErrorCode.ConnectionLost, `request ${this.t.requestId}: the connection ${state === 'failed' ? 'failed (peer lost)' : 'closed'} mid-request`));
  }

  private fail(err: ProtocolError) {
    this.end();
    this.events$.error(err);
  }

  /** No more work for this request; whoever waits (the upload loop) is released. */
  private end() {
    this.finished = true;
    clearTimeout(this.deadline);
    this.queue.close();
  }

  stop() {
    this.end();
  }

  async start(): Promise<void> {
    const deadline = this.t.deadlineMs ?? SESSION_LIMITS.requestDeadlineMs;
    this.deadline = setTimeout(() => this.fail(new ProtocolError(ErrorCode.Timeout, `request ${this.t.requestId}: no result within ${deadline} ms`)), deadline);
    await this.send(this.task);
    // a wasm model run blocks this thread: let the transport put what it was handed on the wire
    // first (werift sends through promise chains; a 100 ms run held the task message back 100 ms)
    await yieldToEventLoop();
    if (this.plan.upStream === null) return;
    const upload = new UploadSender(this.plan, this.original, this.coding, this.store);
    for (let stage = 0; stage < upload.stages; stage++) {
      // the cloud's steps, once they come, are on the path to the user's preview: decode them
      // before coding more of the upload (which only refines the cloud's later steps)
      if (this.opts.downstreamFirst !== false) await this.queue.idle();
      if (this.finished) return;
      const cells = upload.cells(stage).length;
      if (cells === 0) continue;
      const chunks = await upload.code(stage);
      if (upload.needsReliable(stage)) for (const c of chunks) await this.send({ type: 'chunk', data: c });
      else for (const c of chunks) await this.opts.transport.tokens.send(c);
      await yieldToEventLoop(); // on the wire before the next stage's model run
      const bytes = chunks.reduce((a, c) => a + c.length, 0);
      this.bytes.up += bytes;
      this.bytes.headers += chunks.reduce((a, c) => a + readChunk(c).headerBytes, 0);
      this.events$.next({ type: 'upload-stage', stage, cells, bytes, at: performance.now() });
    }
    await this.send({ type: 'done', requestId: this.t.requestId, stream: this.plan.upStream, stages: upload.stages });
  }
}

/** A control message's size on the wire; a chunk carried as one counts only its wrapping. */
function controlSize(m: ControlMessage): number {
  return encodeControl(m).length - (m.type === 'chunk' ? m.data.length : 0);
}
