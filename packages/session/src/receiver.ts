import { ErrorCode, ProtocolError, StageAssembler, decodeChunk, type ChunkHeader, type NackMessage } from '@unimic/protocol';
import { decodeGridStage, type StageEntropyModel } from '@unimic/models';

/*
 * Progressive reception of one token stream (the edge's upload at the cloud, or the cloud's
 * generation steps at the edge). Chunks arrive in any order; a stage decodes as soon as the
 * receiver knows its cells and its coding context (for an upload stage: every earlier stage
 * complete; for a generation step: its `step` message and every earlier step). Chunks that
 * cannot decode yet wait; chunks that fail are reported, never applied.
 */

export interface StageSource {
  /** The stage's cells, schedule order; undefined while not known yet. */
  positionsOf(stage: number): Uint16Array | undefined;
  /** The grid the sender coded stage `stage` against; undefined while not known yet. */
  contextFor(stage: number): Int32Array | undefined;
  /**
   * Takes a stage's decoded tokens into the owner's grid. Called synchronously, before any later
   * stage is tried: a later stage's context includes these tokens (decoding it first was the
   * cause of intact chunks failing their checksum under reordering).
   */
  apply(update: StageUpdate): void;
}

/** What one receiver keeps waiting (chunks whose stage cannot decode yet). */
export interface ReceiverLimits {
  readonly maxQueuedChunks: number;
  readonly maxQueuedBytes: number;
}

/** Enough for a 32x32 grid's stages several times over; a flood beyond is refused, not hoarded. */
export const DEFAULT_RECEIVER_LIMITS: ReceiverLimits = Object.freeze({ maxQueuedChunks: 512, maxQueuedBytes: 256 * 1024 });

/** A chunk whose header was read once, where it was routed; nothing downstream reads it again. */
export interface ReceivedChunk {
  readonly bytes: Uint8Array;
  readonly header: ChunkHeader;
  /** Header bytes (the chunk's length less its coded payload). */
  readonly headerBytes: number;
}

/** Reads a chunk's header (and checks its framing); throws a typed ProtocolError. */
export function readChunk(bytes: Uint8Array): ReceivedChunk {
  const { header, payload } = decodeChunk(bytes);
  return { bytes, header, headerBytes: bytes.length - payload.length };
}

type Waiting = ReceivedChunk;

export interface StageUpdate {
  readonly stage: number;
  /** Cells decoded by this update and their tokens. */
  readonly cells: Uint16Array;
  readonly tokens: Int32Array;
  /** The stage has all its tokens now. */
  readonly complete: boolean;
}

export interface ChunkFailure {
  readonly header: ChunkHeader | null;
  readonly error: ProtocolError;
}

export interface DecodeResult {
  readonly updates: StageUpdate[];
  readonly failures: ChunkFailure[];
}

/**
 * Refusals a resend cannot repair: the receiver holds the chunk already, or the sender's same bytes
 * are too large again. NACKing them made the sender answer with the same bytes, refused again —
 * an endless exchange (one duplicate copy: 206 NACKs a second from the edge, 965 from the cloud).
 */
const NOT_REPAIRED_BY_RESEND: ReadonlySet<string> = new Set([ErrorCode.Duplicate, ErrorCode.Oversized]);

/** The NACK that asks the sender for a failed chunk again (none for a chunk without a readable header, or one a resend cannot repair). */
export function nackFor(failure: ChunkFailure): NackMessage | undefined {
  const h = failure.header;
  if (!h || NOT_REPAIRED_BY_RESEND.has(failure.error.code)) return undefined;
  return { type: 'nack', stream: h.stream, message: h.message, stage: h.stage, chunks: [h.chunkIndex] };
}

/** Models by the chunk header's model index. */
export type ModelTable = readonly StageEntropyModel[];

export class StageReceiver {
  private readonly pending = new Map<number, Waiting[]>();
  private queuedChunks = 0;
  private queuedBytes = 0;
  private readonly assemblers = new Map<number, StageAssembler>();
  private readonly done = new Set<number>();

  constructor(
    private readonly source: StageSource,
    private readonly models: ModelTable,
    private readonly text: readonly number[] | undefined,
    private readonly maxStage = 255,
    private readonly limits: ReceiverLimits = DEFAULT_RECEIVER_LIMITS,
  ) {}

  /** Chunks and bytes waiting for their stage's cells or context. */
  get queued(): { chunks: number; bytes: number } {
    return { chunks: this.queuedChunks, bytes: this.queuedBytes };
  }

  /** Whether stage `s` has all its tokens. */
  complete(stage: number): boolean {
    return this.done.has(stage);
  }

  /** Number of leading complete stages. */
  get completePrefix(): number {
    let n = 0;
    while (this.done.has(n)) n++;
    return n;
  }

  /** Takes a chunk (already routed here by stream and message) and decodes what it can. */
  async push(chunk: ReceivedChunk): Promise<DecodeResult> {
    const { header, bytes } = chunk;
    if (header.stage > this.maxStage || this.done.has(header.stage)) {
      const why = this.done.has(header.stage) ? `stage ${header.stage} is already complete` : `stage ${header.stage} is beyond the request`;
      return { updates: [], failures: [{ header, error: new ProtocolError(this.done.has(header.stage) ? ErrorCode.Duplicate : ErrorCode.Malformed, why) }] };
    }
    // only a chunk that has to wait counts against the limits: a flood for an unknown stage must
    // not crowd out the stages that can decode now
    // (asked only at the limit: building a context per chunk would double the work of the drain)
    const full = this.queuedChunks + 1 > this.limits.maxQueuedChunks || this.queuedBytes + bytes.length > this.limits.maxQueuedBytes;
    if (full && !(this.source.positionsOf(header.stage) !== undefined && this.source.contextFor(header.stage) !== undefined)) {
      const why = `${this.queuedChunks} chunks (${this.queuedBytes} B) already wait for their stage; limit ${this.limits.maxQueuedChunks} chunks, ${this.limits.maxQueuedBytes} B`;
      return { updates: [], failures: [{ header, error: new ProtocolError(ErrorCode.Oversized, why) }] };
    }
    const list = this.pending.get(header.stage);
    if (list) list.push(chunk);
    else this.pending.set(header.stage, [chunk]);
    this.queuedChunks++;
    this.queuedBytes += bytes.length;
    return this.drain();
  }

  /** Retries waiting chunks (call when a stage's cells or context became known). */
  async drain(): Promise<DecodeResult> {
    const updates: StageUpdate[] = [];
    const failures: ChunkFailure[] = [];
    for (let progress = true; progress; ) {
      progress = false;
      for (const stage of [...this.pending.keys()].sort((a, b) => a - b)) {
        const positions = this.source.positionsOf(stage);
        const context = positions && this.source.contextFor(stage);
        if (!positions || !context) continue;
        const chunks = this.pending.get(stage) ?? [];
        this.pending.delete(stage);
        this.queuedChunks -= chunks.length;
        this.queuedBytes -= chunks.reduce((a, c) => a + c.bytes.length, 0);
        const r = await this.decode(stage, positions, context, chunks);
        updates.push(...r.updates);
        failures.push(...r.failures);
        if (r.updates.some((u) => u.complete)) progress = true; // may unblock later stages
      }
    }
    return { updates, failures };
  }

  private async decode(stage: number, positions: Uint16Array, context: Int32Array, chunks: Waiting[]) {
    const updates: StageUpdate[] = [];
    const failures: ChunkFailure[] = [];
    let asm = this.assemblers.get(stage);
    if (!asm) this.assemblers.set(stage, (asm = new StageAssembler(stage, positions.length)));
    // chunks may name different models (their header says which): decode each group with its own
    const byModel = new Map<number, Waiting[]>();
    for (const c of chunks) {
      const group = byModel.get(c.header.model);
      if (group) group.push(c);
      else byModel.set(c.header.model, [c]);
    }
    for (const [index, group] of byModel) {
      const model = this.models[index];
      if (!model) {
        for (const c of group) failures.push({ header: c.header, error: new ProtocolError(ErrorCode.InvalidField, `chunk names model ${index}, the session has ${this.models.length}`) });
        continue;
      }
      const r = await decodeGridStage({ model, known: context, positions, chunks: group.map((c) => c.bytes), ...(this.text && this.text.length ? { text: this.text } : {}) });
      for (const e of r.errors) failures.push({ header: (group[e.index] as Waiting).header, error: e.error });
      for (const c of r.chunks) {
        try {
          asm.accept(c);
        } catch (err) {
          failures.push({ header: c.header, error: err as ProtocolError });
          continue;
        }
        const cells = Uint16Array.from(c.tokens, (_, j) => positions[c.offset + j] as number);
        updates.push({ stage, cells, tokens: Int32Array.from(c.tokens), complete: false });
      }
    }
    if (asm.complete) {
      this.done.add(stage);
      if (updates.length > 0) updates[updates.length - 1] = { ...(updates.at(-1) as StageUpdate), complete: true };
    }
    for (const u of updates) this.source.apply(u);
    return { updates, failures };
  }
}
