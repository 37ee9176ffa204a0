/**
 * `step`: the cloud announces which cells one generation step committed, before (or while) the
 * step's token chunks arrive. MaskGIT picks cells by confidence, so unlike the edge's upload
 * (whose stages follow from the schedule seed) the receiver cannot derive them.
 *
 * The step's tokens are coded conditioned on the cells of the first `upStages` upload stages and
 * on the earlier steps: the receiver rebuilds exactly that context, whatever else the cloud had.
 *
 *   { type: 'step', requestId, stream, stage, upStages, cells }
 *
 * cells: a bitmap over the target cells no earlier step named, ascending (`subsetMask`, LSB first):
 * steps arrive in order on the control channel, so both peers hold that list. The codec checks
 * only its size; the edge checks it against the list (`subsetFromMask`).
 */
import type { Fields } from './validate.ts';
import { invalidField } from './validate.ts';

/** Bitmap bytes for the largest grid (128x128 cells). */
export const MAX_STEP_CELL_BYTES = (128 * 128) / 8;

export interface StepMessage {
  readonly type: 'step';
  readonly requestId: number;
  readonly stream: number;
  /** Index of the step: the `stage` of its chunks. */
  readonly stage: number;
  /** Upload stages (a prefix) the step's coding context includes. */
  readonly upStages: number;
  /** Bitmap over the still-open target cells (see above). */
  readonly cells: Uint8Array;
}

export function readStep(f: Fields): StepMessage {
  const requestId = f.uint('requestId');
  const stream = f.uint('stream', 0, 7);
  const stage = f.uint('stage', 0, 255);
  const upStages = f.uint('upStages', 0, 64);
  const cells = f.optBytes('cells', MAX_STEP_CELL_BYTES);
  if (cells === undefined) throw invalidField(f.child('cells'), 'missing');
  const msg: StepMessage = { type: 'step', requestId, stream, stage, upStages, cells };
  f.end();
  return msg;
}
