/**
 * `nack`: same fields as `ack`; the listed chunks are missing and should be resent
 * (or, under partial reliability, may be given up on).
 *
 *   { type: 'nack', stream, message, stage, chunks: uint[] }
 */
import type { Fields } from './validate.ts';
import { readChunkSet } from './ack.ts';
import type { ChunkSetFields } from './ack.ts';

export interface NackMessage extends ChunkSetFields {
  readonly type: 'nack';
}

export function readNack(f: Fields): NackMessage {
  return { type: 'nack', ...readChunkSet(f) };
}
