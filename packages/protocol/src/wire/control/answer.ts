/**
 * `answer`: the next text tokens (BPE ids) of a VQA answer, streamed as generated; `done` marks
 * the last piece. Pieces are numbered so a receiver can tell a gap from a replay.
 *
 *   { type: 'answer', requestId, piece, tokens: uint[], done }
 */
import type { Fields } from './validate.ts';
import { asUint } from './validate.ts';

export const MAX_ANSWER_PIECE_TOKENS = 256;
/** Largest BPE id (r50k has 50257 tokens). */
export const MAX_BPE_ID = 100_000;

export interface AnswerMessage {
  readonly type: 'answer';
  readonly requestId: number;
  readonly piece: number;
  readonly tokens: readonly number[];
  readonly done: boolean;
}

export function readAnswer(f: Fields): AnswerMessage {
  const msg: AnswerMessage = {
    type: 'answer',
    requestId: f.uint('requestId'),
    piece: f.uint('piece', 0, 65535),
    tokens: f.array('tokens', MAX_ANSWER_PIECE_TOKENS, (v, path) => asUint(v, path, 0, MAX_BPE_ID)),
    done: f.bool('done'),
  };
  f.end();
  return msg;
}
