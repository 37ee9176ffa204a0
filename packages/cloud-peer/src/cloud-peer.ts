import { BehaviorSubject, ReplaySubject, firstValueFrom, merge, type Subscription } from 'rxjs';
import {
  ErrorCode,
  ProtocolError,
  bpeEncode,
  decodeControl,
  decompressText,
  encodeControl,
  isProtocolError,
  type ControlMessage,
  type OpenMessage,
  type TaskMessage,
  PROTOCOL_VERSION,
} from '@unimic/protocol';
import { UNKNOWN, yieldToEventLoop, type InferenceClock } from '@unimic/models';
import {
  ChunkStore,
  DecodeQueue,
  EarlyChunks,
  SESSION_LIMITS,
  StepSender,
  UploadReceiver,
  codingPrompt,
  nackFor,
  oneAhead,
  planRequest,
  readChunk,
  readyToGenerate,
  windowContext,
  type ModelTable,
  type ReceivedChunk,
  type RequestCoding,
  type RequestPlan,
  type UploadProgress,
} from '@unimic/session';
import type { PeerTransport } from '@unimic/transport';
import type { AnswerGenerator, TokenSampler } from './generator.ts';
import { generateImage } from './maskgit.ts';

/*
 * The cloud side of a session. Per request, one RxJS pipeline:
 *
 *   tokens channel → route by (message, stream) → progressive decode of the upload (a stage as
 *   soon as it and every earlier stage are in) → known grid → readiness (after stage k, or at a
 *   deadline) → MaskGIT steps, each coded and sent at once (`step` + chunks) → answer tokens
 *   (VQA) → `result`.
 *
 * Generation reads the grid live, so upload stages that land after it started still inform
 * the later steps; each step's coding context is named in its `step` message (`upStages`).
 */

export interface CloudModels {
  /** Entropy models by chunk-header index (`CodingModels.list`). */
  readonly coding: ModelTable;
  /** Image generation without and with a prompt. */
  readonly image: TokenSampler;
  readonly imageWithText?: TokenSampler;
  readonly answer?: AnswerGenerator;
}

export interface ReadinessPolicy {
  /** Start generating once this many upload stages are complete (≥ the stage count: wait for all). */
  readonly afterStages: number;
  /** …or this long after the task arrived, whatever has arrived. */
  readonly deadlineMs: number;
}

export interface CloudPeerOptions {
  readonly transport: PeerTransport;
  readonly pack: OpenMessage['pack'];
  readonly models: CloudModels;
  readonly readiness?: ReadinessPolicy;
  /** Default MaskGIT steps when the task does not say. */
  readonly steps?: number;
  /** Generation steps up to this many cells are coded with the context-free model (default CONTEXT_FREE_MAX_CELLS). */
  readonly contextFreeMaxCells?: number;
  /** Called with every event, for logs and tests. */
  readonly onEvent?: (e: CloudEvent) => void;
  /** The clock of the models' runtime (timedRuntime): results then report model time. */
  readonly clock?: InferenceClock;
}

export type CloudEvent =
  | { type: 'task'; requestId: number; task: TaskMessage['task']; at: number }
  | { type: 'upload-stage'; requestId: number; stage: number; complete: boolean; at: number }
  | { type: 'generation-start'; requestId: number; upStages: number; at: number }
  | { type: 'step-sent'; requestId: number; step: number; cells: number; positions: Uint16Array; tokens: Int32Array; bytes: number; inferenceMs: number; at: number }
  | { type: 'answer-sent'; requestId: number; tokens: number; at: number }
  | { type: 'result'; requestId: number; ok: boolean; at: number }
  | { type: 'refused'; requestId?: number; error: ProtocolError; at: number };

export class CloudPeer {
  private readonly subs: Subscription[] = [];
  private readonly requests = new Map<number, CloudRequest>();
  private readonly store = new ChunkStore();
  /** Chunks for requests whose task has not arrived yet (SESSION_LIMITS.earlyChunks). */
  private readonly early = new EarlyChunks();

  constructor(private readonly opts: CloudPeerOptions) {
    const { transport } = opts;
    this.subs.push(
      transport.control.messages$.subscribe((bytes) => this.onControl(bytes)),
      transport.tokens.messages$.subscribe((bytes) => this.onChunk(bytes)),
    );
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
    for (const r of this.requests.values()) r.stop();
  }

  private emit(e: CloudEvent) {
    this.opts.onEvent?.(e);
  }

  async send(msg: ControlMessage): Promise<void> {
    await this.opts.transport.control.send(encodeControl(msg));
  }

  private refuse(error: ProtocolError, requestId?: number) {
    this.emit({ type: 'refused', error, at: performance.now(), ...(requestId === undefined ? {} : { requestId }) });
    void this.send({ type: 'error', code: error.code, message: error.message.slice(0, 1000), ...(requestId === undefined ? {} : { requestId }) }).catch(() => undefined);
  }

  private onControl(bytes: Uint8Array) {
    let msg: ControlMessage;
    try {
      msg = decodeControl(bytes);
    } catch (err) {
      // whatever an edge sends, it never ends anything but its own request
      return this.refuse(isProtocolError(err) ? err : new ProtocolError(ErrorCode.Malformed, `control message: ${String(err)}`));
    }
    switch (msg.type) {
      case 'open':
        if (msg.protocolVersion !== PROTOCOL_VERSION) {
          return this.refuse(new ProtocolError(ErrorCode.UnsupportedVersion, `edge speaks protocol ${msg.protocolVersion}, this cloud ${PROTOCOL_VERSION}`));
        }
        if (msg.pack.sha256 !== this.opts.pack.sha256) {
          return this.refuse(new ProtocolError(ErrorCode.InvalidField, `edge uses pack ${msg.pack.id} (${msg.pack.sha256.slice(0, 12)}…), this cloud ${this.opts.pack.id}`));
        }
        void this.send({
          type: 'open',
          protocolVersion: PROTOCOL_VERSION,
          role: 'cloud',
          pack: this.opts.pack,
          capabilities: {
            models: this.opts.models.coding.map((m) => m.name),
            tasks: this.opts.models.answer ? ['t2i', 'inpaint', 'outpaint', 'vqa'] : ['t2i', 'inpaint', 'outpaint'],
            maxChunkBytes: SESSION_LIMITS.maxChunkBytes,
          },
        }).catch(() => undefined); // a dead link ends this session, through its transport state
        return;
      case 'task':
        return this.startRequest(msg);
      case 'nack':
        for (const c of this.store.answer(msg)) void this.opts.transport.tokens.send(c).catch(() => undefined);
        return;
      case 'chunk':
        return this.onChunk(msg.data);
      case 'done':
        this.requests.get(msg.requestId)?.uploadDone();
        return;
      case 'close':
        // the edge leaves: its requests end now, not when the transport notices it is gone
        for (const r of this.requests.values()) r.stop();
        return;
      default:
        return;
    }
  }

  private startRequest(task: TaskMessage) {
    if (this.requests.has(task.requestId)) return this.refuse(new ProtocolError(ErrorCode.Duplicate, `request ${task.requestId} already running`), task.requestId);
    let plan: RequestPlan;
    let text: number[] = [];
    try {
      plan = planRequest(task);
      if (task.text) text = Array.from(bpeEncode(decompressText(task.text)));
      if (task.task === 'vqa' && !this.opts.models.answer) throw new ProtocolError(ErrorCode.InvalidArgument, 'this cloud has no VQA model');
    } catch (err) {
      if (isProtocolError(err)) return this.refuse(err, task.requestId);
      throw err;
    }
    const req = new CloudRequest(this, this.opts, plan, text, this.store);
    this.requests.set(task.requestId, req);
    this.emit({ type: 'task', requestId: task.requestId, task: task.task, at: performance.now() });
    req
      .run()
      // run() reports its own failures; anything that escapes is a bug, and still ends only this request
      .catch((err: unknown) => this.emit({ type: 'refused', requestId: task.requestId, error: new ProtocolError(ErrorCode.Remote, `request ${task.requestId} failed: ${String(err)}`), at: performance.now() }))
      .finally(() => {
        this.requests.delete(task.requestId);
        this.store.forget(task.requestId);
      });
    for (const c of this.early.take(task.requestId)) req.chunk(c);
  }

  /** Routes a chunk to its request by the message id in its header (read here, once). */
  private onChunk(bytes: Uint8Array) {
    let chunk: ReceivedChunk;
    try {
      chunk = readChunk(bytes);
    } catch (err) {
      if (isProtocolError(err)) return this.emit({ type: 'refused', error: err, at: performance.now() });
      throw err;
    }
    const message = chunk.header.message;
    const req = this.requests.get(message);
    if (req) return req.chunk(chunk);
    if (!this.early.hold(message, chunk)) {
      const { chunks, bytes: held } = this.early.size;
      this.emit({ type: 'refused', error: new ProtocolError(ErrorCode.Oversized, `chunk for unknown request ${message}: ${chunks} early chunks (${held} B) already held`), at: performance.now() });
    }
  }

  /** @internal */
  emitEvent(e: CloudEvent) {
    this.emit(e);
  }
}

class CloudRequest {
  private readonly upload: UploadReceiver;
  private readonly queue: DecodeQueue;
  private readonly coding: RequestCoding;
  private stopped = false;
  private readonly t0 = performance.now();
  private readonly model0: number;
  private bytesUp = 0;
  /** Upload progress for the readiness policy (stages complete; end of upload). */
  private readonly progress: BehaviorSubject<UploadProgress> = new BehaviorSubject<UploadProgress>({ completeStages: 0 });
  private readonly stopped$ = new ReplaySubject<number>(1);

  constructor(
    private readonly peer: CloudPeer,
    private readonly opts: CloudPeerOptions,
    private readonly plan: RequestPlan,
    private readonly text: number[],
    private readonly store: ChunkStore,
  ) {
    this.model0 = opts.clock?.ms ?? 0;
    const prompt = codingPrompt(plan.task.task, text, opts.models.coding);
    this.coding = {
      models: opts.models.coding,
      ...(prompt ? { text: prompt } : {}),
      ...(opts.contextFreeMaxCells !== undefined ? { contextFreeMaxCells: opts.contextFreeMaxCells } : {}),
    };
    this.upload = new UploadReceiver(plan, this.coding);
    this.queue = new DecodeQueue(this.upload.stageReceiver, ({ updates, failures }) => {
      for (const u of updates) {
        this.peer.emitEvent({ type: 'upload-stage', requestId: plan.task.requestId, stage: u.stage, complete: u.complete, at: performance.now() });
      }
      for (const f of failures) {
        const nack = nackFor(f);
        if (nack) void this.peer.send(nack).catch(() => undefined);
        this.peer.emitEvent({ type: 'refused', requestId: plan.task.requestId, error: f.error, at: performance.now() });
      }
      this.progress.next({ completeStages: this.upload.completeStages() });
    });
  }

  chunk(chunk: ReceivedChunk) {
    this.bytesUp += chunk.bytes.length;
    this.queue.push(chunk);
  }

  /** The edge sent its whole upload: lost chunks stop being waited for after a grace period. */
  uploadDone() {
    // on a reliable channel every chunk arrives: nothing to give up on
    if (this.plan.reliableStages === null) return;
    // the grace period runs from when what arrived is decoded, not from the message: chunks still
    // queued for decoding (a model run each) are not lost, and a stage complete in the queue must
    // count (at 0% loss, 2 of 5 partially reliable requests started from 7 of 8 stages)
    void this.queue.idle().then(() => this.progress.next({ uploadDone: true }));
  }

  stop() {
    this.stopped = true;
    this.stopped$.next(this.upload.completeStages());
    this.queue.close();
  }

  private async waitReady(): Promise<void> {
    const policy = this.opts.readiness ?? { afterStages: Infinity, deadlineMs: 30_000 };
    // the edge may ask to wait longer than the policy, never to start earlier
    const need = Math.min(Math.max(policy.afterStages, this.plan.task.startAfter ?? 0), this.plan.upStages.length);
    const deadlineMs = Math.max(0, this.t0 + policy.deadlineMs - performance.now());
    this.progress.next({ completeStages: this.upload.completeStages() });
    await firstValueFrom(merge(this.progress.pipe(readyToGenerate({ need, deadlineMs, graceMs: SESSION_LIMITS.lossGraceMs })), this.stopped$));
  }

  async run(): Promise<void> {
    const { plan, opts } = this;
    const requestId = plan.task.requestId;
    let tokensDown = 0;
    let bytesDown = 0;
    let ok = true;
    await this.waitReady();
    const upStages = this.upload.completeStages();
    this.peer.emitEvent({ type: 'generation-start', requestId, upStages, at: performance.now() });
    try {
      if (this.stopped) throw new ProtocolError(ErrorCode.ConnectionLost, `request ${requestId} stopped before generation`);
      // generating from nothing when the task has an image would "succeed" with a made-up input
      if (this.upload.hasCellsIn(plan.upStages.length) && !this.upload.hasCellsIn(upStages)) {
        throw new ProtocolError(ErrorCode.Timeout, `request ${requestId}: no upload stage complete by the deadline`);
      }
      if (plan.task.task === 'vqa') {
        let piece = 0;
        const answer = opts.models.answer as AnswerGenerator;
        for await (const tokens of answer.answer(this.upload.grid.slice(), this.text, plan.task.schedule.seed)) {
          if (this.stopped) break;
          await this.peer.send({ type: 'answer', requestId, piece: piece++, tokens: [...tokens], done: false });
          tokensDown += tokens.length;
          this.peer.emitEvent({ type: 'answer-sent', requestId, tokens: tokens.length, at: performance.now() });
        }
        await this.peer.send({ type: 'answer', requestId, piece, tokens: [], done: true });
      } else {
        const withText = this.text.length > 0 && opts.models.imageWithText;
        const predictor = withText ? (opts.models.imageWithText as TokenSampler) : opts.models.image;
        const sender = new StepSender(plan, this.coding, this.store);
        let tGen = performance.now();
        // step t+1 is generated while step t is coded and sent
        const steps = oneAhead(
          generateImage(predictor, {
            target: plan.target,
            // generation reads the upload live: stages that land after it started inform later steps
            context: () => windowContext(plan, this.upload.grid, UNKNOWN),
            ...(withText ? { text: this.text } : {}),
            steps: plan.task.steps ?? opts.steps ?? 8,
            seed: plan.task.schedule.seed,
          }),
        );
        for await (const step of steps) {
          if (this.stopped) break;
          const inferenceMs = performance.now() - tGen;
          // coded against what the edge can rebuild: the complete upload prefix (+ earlier steps)
          const { message, chunks } = await sender.code(step, this.upload.grid, this.upload.completeStages());
          await this.peer.send(message);
          for (const c of chunks) await opts.transport.tokens.send(c);
          await yieldToEventLoop(); // on the wire before the next step's coding run blocks the thread
          const bytes = chunks.reduce((a, c) => a + c.length, 0);
          bytesDown += bytes;
          tokensDown += step.positions.length;
          this.peer.emitEvent({ type: 'step-sent', requestId, step: step.step, cells: step.positions.length, positions: step.positions, tokens: step.tokens, bytes, inferenceMs, at: performance.now() });
          tGen = performance.now();
        }
        // no `done` down: the result follows at once and says how many tokens came
      }
    } catch (cause) {
      ok = false;
      // a send on a dead link throws a plain Error: that ends this request, never the worker
      const err = isProtocolError(cause) ? cause : new ProtocolError(ErrorCode.ConnectionLost, `request ${requestId}: ${cause instanceof Error ? cause.message : String(cause)}`);
      this.peer.emitEvent({ type: 'refused', requestId, error: err, at: performance.now() });
      await this.peer.send({ type: 'error', code: err.code, message: err.message.slice(0, 1000), requestId }).catch(() => undefined);
    }
    await this.peer
      .send({ type: 'result', requestId, ok, tokensUp: this.upload.tokens, tokensDown, bytesUp: this.bytesUp, bytesDown, stagesUsed: upStages, elapsedMs: performance.now() - this.t0, ...(opts.clock ? { modelMs: opts.clock.ms - this.model0 } : {}) })
      .catch(() => undefined);
    this.peer.emitEvent({ type: 'result', requestId, ok, at: performance.now() });
    this.stop();
  }
}
