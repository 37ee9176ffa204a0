import { ErrorCode, ProtocolError, StageAssembler, decodeChunk, type ChunkHeader } from '@unimic/protocol';
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
}

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

/** Models by the chunk header's model index. */
export type ModelTable = readonly StageEntropyModel[];

export class StageReceiver {
  private readonly pending = new Map<number, Uint8Array[]>();
  private readonly assemblers = new Map<number, StageAssembler>();
  private readonly done = new Set<number>();

  constructor(
    private readonly source: StageSource,
    private readonly models: ModelTable,
    private readonly text: readonly number[] | undefined,
    private readonly maxStage = 255,
  ) {}

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
  async push(bytes: Uint8Array): Promise<{ updates: StageUpdate[]; failures: ChunkFailure[] }> {
    let header: ChunkHeader;
    try {
      header = decodeChunk(bytes).header;
    } catch (err) {
      return { updates: [], failures: [{ header: null, error: err as ProtocolError }] };
    }
    if (header.stage > this.maxStage || this.done.has(header.stage)) {
      const why = this.done.has(header.stage) ? `stage ${header.stage} is already complete` : `stage ${header.stage} is beyond the request`;
      return { updates: [], failures: [{ header, error: new ProtocolError(this.done.has(header.stage) ? ErrorCode.Duplicate : ErrorCode.Malformed, why) }] };
    }
    const list = this.pending.get(header.stage) ?? [];
    list.push(bytes);
    this.pending.set(header.stage, list);
    return this.drain();
  }

  /** Retries waiting chunks (call when a stage's cells or context became known). */
  async drain(): Promise<{ updates: StageUpdate[]; failures: ChunkFailure[] }> {
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
        const r = await this.decode(stage, positions, context, chunks);
        updates.push(...r.updates);
        failures.push(...r.failures);
        if (r.updates.some((u) => u.complete)) progress = true; // may unblock later stages
      }
    }
    return { updates, failures };
  }

  private async decode(stage: number, positions: Uint16Array, context: Int32Array, chunks: Uint8Array[]) {
    const updates: StageUpdate[] = [];
    const failures: ChunkFailure[] = [];
    let asm = this.assemblers.get(stage);
    if (!asm) this.assemblers.set(stage, (asm = new StageAssembler(stage, positions.length)));
    // chunks may name different models (their header says which): decode each group with its own
    const byModel = new Map<number, Uint8Array[]>();
    for (const c of chunks) {
      const m = decodeChunk(c).header.model;
      byModel.set(m, [...(byModel.get(m) ?? []), c]);
    }
    for (const [index, group] of byModel) {
      const model = this.models[index];
      if (!model) {
        for (const c of group) failures.push({ header: decodeChunk(c).header, error: new ProtocolError(ErrorCode.InvalidField, `chunk names model ${index}, the session has ${this.models.length}`) });
        continue;
      }
      const r = await decodeGridStage({ model, known: context, positions, chunks: group, ...(this.text && this.text.length ? { text: this.text } : {}) });
      for (const e of r.errors) failures.push({ header: safeHeader(group[e.index] as Uint8Array), error: e.error });
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
    return { updates, failures };
  }
}

function safeHeader(bytes: Uint8Array): ChunkHeader | null {
  try {
    return decodeChunk(bytes).header;
  } catch {
    return null;
  }
}
