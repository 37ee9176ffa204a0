/**
 * `nack`: the receiver names chunks of one stage of one message that failed (their checksum, or
 * a decode) and asks for them again; no chunks listed: the whole stage. (Losses on a reliable
 * channel are SCTP's to repair; there is no positive `ack`: the transport acknowledges already,
 * and every extra message costs a datagram.)
 *
 *   { type: 'nack', stream, message, stage, chunks: uint[] }
 */
import type { Fields } from './validate.ts';
import { asUint } from './validate.ts';

/** Mirrors the chunk header's 3-bit stream field. */
export const MAX_NACK_STREAM = 7;
/** Mirrors the default maxChunkIndex limit of the chunk header. */
export const MAX_NACK_CHUNKS = 4096;

/** Which chunks of which stage a `nack` names. */
export interface ChunkSetFields {
  readonly stream: number;
  readonly message: number;
  readonly stage: number;
  readonly chunks: readonly number[];
}

export interface NackMessage extends ChunkSetFields {
  readonly type: 'nack';
}

export function readNack(f: Fields): NackMessage {
  const msg: NackMessage = {
    type: 'nack',
    stream: f.uint('stream', 0, MAX_NACK_STREAM),
    message: f.uint('message'),
    stage: f.uint('stage'),
    chunks: f.array('chunks', MAX_NACK_CHUNKS, (v, path) => asUint(v, path)),
  };
  f.end();
  return msg;
}
