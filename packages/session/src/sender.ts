import { encodeGridStage, type StageEntropyModel } from '@unimic/models';
import { pickCodingModel } from './models.ts';

/*
 * Sending one stage: pick its model, code it against the agreed context, keep the chunks for
 * re-sends (a NACKed chunk goes again byte for byte), and hand them to the transport in order.
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

  /** The chunks of a stage named by a NACK (unknown indexes are skipped). */
  resend(stream: number, message: number, stage: number, indexes: readonly number[]): Uint8Array[] {
    const chunks = this.chunks.get(key(stream, message, stage)) ?? [];
    return indexes.flatMap((i) => (chunks[i] ? [chunks[i] as Uint8Array] : []));
  }

  /** All chunks of a stage (a NACK with no indexes asks for the whole stage). */
  stage(stream: number, message: number, stage: number): Uint8Array[] {
    return this.chunks.get(key(stream, message, stage)) ?? [];
  }

  forget(message: number): void {
    for (const k of [...this.chunks.keys()]) if (k.split(':')[1] === String(message)) this.chunks.delete(k);
  }
}

const key = (stream: number, message: number, stage: number) => `${stream}:${message}:${stage}`;
