import { encodeGridStage, type StageEntropyModel } from '@unimic/models';
import type { NackMessage } from '@unimic/protocol';
import { pickCodingModel } from './models.ts';

/*
 * The sender's side of a stage: pick its model, code it against the agreed context, and keep the
 * chunks until the request ends, so a NACKed chunk goes again byte for byte (a re-coded chunk
 * could differ if the context moved, and the receiver's checksum would refuse it).
 */

export interface StageToSend {
  /** The session's models; the chunk header names the one picked (`pickCodingModel`). */
  readonly models: readonly StageEntropyModel[];
  /** Stages up to this many cells go with the context-free model (default CONTEXT_FREE_MAX_CELLS). */
  readonly contextFreeMaxCells?: number;
  readonly context: Int32Array;
  readonly positions: Uint16Array;
  readonly tokens: ArrayLike<number>;
  /** The prompt: coded with the text-conditional model when there is one. */
  readonly text?: readonly number[];
  readonly stream: number;
  readonly message: number;
  readonly stage: number;
}

export class ChunkStore {
  private readonly chunks = new Map<string, Uint8Array[]>();

  async code(s: StageToSend): Promise<Uint8Array[]> {
    const prompted = !!s.text && s.text.length > 0;
    const index = pickCodingModel(s.models, s.positions.length, prompted, s.contextFreeMaxCells);
    const chunks = await encodeGridStage({
      model: s.models[index] as StageEntropyModel,
      known: s.context,
      positions: s.positions,
      tokens: s.tokens,
      ...(s.text && s.text.length ? { text: s.text } : {}),
      address: { stream: s.stream, message: s.message, stage: s.stage, model: index },
    });
    this.chunks.set(key(s.stream, s.message, s.stage), chunks);
    return chunks;
  }

  /**
   * What a NACK asks to be sent again: the chunks it lists (unknown indexes are skipped), or the
   * whole stage when it lists none. Nothing for a stage this store never sent or has forgotten.
   */
  answer(nack: NackMessage): Uint8Array[] {
    const chunks = this.chunks.get(key(nack.stream, nack.message, nack.stage)) ?? [];
    if (nack.chunks.length === 0) return chunks;
    return nack.chunks.flatMap((i) => (chunks[i] ? [chunks[i] as Uint8Array] : []));
  }

  /** Drops every stage of a finished request. */
  forget(message: number): void {
    for (const k of [...this.chunks.keys()]) if (k.split(':')[1] === String(message)) this.chunks.delete(k);
  }
}

const key = (stream: number, message: number, stage: number) => `${stream}:${message}:${stage}`;
