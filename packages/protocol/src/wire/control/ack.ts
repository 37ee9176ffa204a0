/**
 * `ack`: the receiver confirms which chunks of one stage of one message it holds, so the
 * sender can stop retransmitting them (partial-reliability mode).
 *
 *   { type: 'ack', stream, message, stage, chunks: uint[] }
 */
import type { Fields } from './validate.ts';
import { asUint } from './validate.ts';

/** Mirrors the chunk header's 3-bit stream field. */
export const MAX_ACK_STREAM = 7;
/** Mirrors the default maxChunkIndex limit of the chunk header. */
export const MAX_ACK_CHUNKS = 4096;

/** Fields shared by `ack` and `nack`. */
export interface ChunkSetFields {
  readonly stream: number;
  readonly message: number;
  readonly stage: number;
  readonly chunks: readonly number[];
}

export interface AckMessage extends ChunkSetFields {
  readonly type: 'ack';
}

export function readChunkSet(f: Fields): ChunkSetFields {
  const fields: ChunkSetFields = {
    stream: f.uint('stream', 0, MAX_ACK_STREAM),
    message: f.uint('message'),
    stage: f.uint('stage'),
    chunks: f.array('chunks', MAX_ACK_CHUNKS, (v, path) => asUint(v, path)),
  };
  f.end();
  return fields;
}

export function readAck(f: Fields): AckMessage {
  return { type: 'ack', ...readChunkSet(f) };
}
