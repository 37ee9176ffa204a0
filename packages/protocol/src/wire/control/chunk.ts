/**
 * `chunk`: a token chunk sent on the reliable control channel instead of the tokens channel. In a
 * partially reliable session the first `reliableStages` stages of an upload go this way: every
 * later stage is coded against them, so they must not be lost.
 * `done`: the sender has sent every stage of a stream of a request (`stages` of them); the
 * receiver stops waiting for lost chunks after a short grace period.
 *
 *   { type: 'chunk', data }            { type: 'done', requestId, stream, stages }
 */
import type { Fields } from './validate.ts';
import { invalidField } from './validate.ts';

export const MAX_CONTROL_CHUNK_BYTES = 1400;

export interface ChunkMessage {
  readonly type: 'chunk';
  readonly data: Uint8Array;
}

export interface DoneMessage {
  readonly type: 'done';
  readonly requestId: number;
  readonly stream: number;
  readonly stages: number;
}

export function readChunkMessage(f: Fields): ChunkMessage {
  const data = f.optBytes('data', MAX_CONTROL_CHUNK_BYTES);
  if (data === undefined) throw invalidField(f.child('data'), 'missing');
  f.end();
  return { type: 'chunk', data };
}

export function readDone(f: Fields): DoneMessage {
  const msg: DoneMessage = { type: 'done', requestId: f.uint('requestId'), stream: f.uint('stream', 0, 7), stages: f.uint('stages', 0, 256) };
  f.end();
  return msg;
}
