/**
 * `result`: the cloud reports how a request ended, with the traffic it cost (the numbers
 * the benchmark compares against pixel codecs).
 *
 *   { type: 'result', requestId, ok, tokensUp, tokensDown, bytesUp, bytesDown,
 *     stagesUsed, elapsedMs, modelMs? }
 */
import type { Fields } from './validate.ts';

export interface ResultMessage {
  readonly type: 'result';
  readonly requestId: number;
  readonly ok: boolean;
  readonly tokensUp: number;
  readonly tokensDown: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly stagesUsed: number;
  /** Wall time in milliseconds, finite and ≥ 0 (fractional allowed). */
  readonly elapsedMs: number;
  /** Of which in model runs at the cloud (decoding, generation, coding), when it measures it. */
  readonly modelMs?: number;
}

export function readResult(f: Fields): ResultMessage {
  const msg: { -readonly [K in keyof ResultMessage]: ResultMessage[K] } = {
    type: 'result',
    requestId: f.uint('requestId'),
    ok: f.bool('ok'),
    tokensUp: f.uint('tokensUp'),
    tokensDown: f.uint('tokensDown'),
    bytesUp: f.uint('bytesUp'),
    bytesDown: f.uint('bytesDown'),
    stagesUsed: f.uint('stagesUsed'),
    elapsedMs: f.finiteNonNegative('elapsedMs'),
  };
  if (f.has('modelMs')) msg.modelMs = f.finiteNonNegative('modelMs');
  f.end();
  return msg;
}
