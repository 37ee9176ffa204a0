/**
 * `task`: the edge asks the cloud to run one request. Token streams for the request
 * follow as binary chunks; `schedule` tells both sides how tokens are grouped into stages.
 *
 *   { type: 'task', requestId, task, grid: { width, height },
 *     schedule: { kind, stages, seed }, text?, mask?, outpaint?: { side, amount }, steps?,
 *     startAfter? }
 */
import { ErrorCode, ProtocolError } from '../../errors.ts';
import type { Fields } from './validate.ts';
import { SCHEDULE_KINDS, type ScheduleKind } from '../../schedule/schedule.ts';
import { EXTENSION_SIDES as OUTPAINT_SIDES, type ExtensionSide as OutpaintSide } from '../../tasks/geometry.ts';
import { TASK_NAMES as TASK_KINDS, type TaskName as TaskKind } from '../../tasks/tasks.ts';



export const MAX_GRID_SIDE = 128;
export const MAX_STAGES = 64;
export const MAX_OUTPAINT_AMOUNT = 128;
export const MAX_STEPS = 256;
/** Brotli-compressed prompt text. */
export const MAX_TEXT_BYTES = 64 * 1024;

export interface TaskMessage {
  readonly type: 'task';
  readonly requestId: number;
  readonly task: TaskKind;
  /** Token grid, cells per side. */
  readonly grid: { readonly width: number; readonly height: number };
  readonly schedule: { readonly kind: ScheduleKind; readonly stages: number; readonly seed: number };
  /** Brotli-compressed UTF-8 prompt. */
  readonly text?: Uint8Array;
  /** One bit per grid cell, ceil(width * height / 8) bytes; bit order is the task's. */
  readonly mask?: Uint8Array;
  readonly outpaint?: { readonly side: OutpaintSide; readonly amount: number };
  readonly steps?: number;
  /**
   * The edge's readiness wish: start generating once this many upload stages are in (0 = at
   * once, ≥ stages = wait for every token). The cloud may start later (its own policy or load),
   * never earlier.
   */
  readonly startAfter?: number;
  /**
   * Partially reliable session: the first `reliableStages` upload stages travel reliably (as
   * `chunk` control messages) and every stage is coded against at most those stages; generation
   * steps are coded against the upload only, so a lost chunk costs only its own tokens.
   */
  readonly reliableStages?: number;
}

export function readTask(f: Fields): TaskMessage {
  const requestId = f.uint('requestId');
  const task = f.literal('task', TASK_KINDS);

  const g = f.struct('grid');
  const width = g.uint('width', 1, MAX_GRID_SIDE);
  const height = g.uint('height', 1, MAX_GRID_SIDE);
  g.end();

  const s = f.struct('schedule');
  const kind = s.literal('kind', SCHEDULE_KINDS);
  const stages = s.uint('stages', 1, MAX_STAGES);
  const seed = s.uint('seed');
  s.end();

  const text = f.optBytes('text', MAX_TEXT_BYTES);

  const maskBytes = Math.ceil((width * height) / 8);
  // Oversized against the largest possible grid first, then exact length for this grid.
  const mask = f.optBytes('mask', Math.ceil((MAX_GRID_SIDE * MAX_GRID_SIDE) / 8));
  if (mask !== undefined && mask.length !== maskBytes) {
    throw new ProtocolError(
      ErrorCode.InvalidField,
      `${f.child('mask')}: ${mask.length} bytes, a ${width}x${height} grid needs ${maskBytes}`,
    );
  }

  const o = f.optStruct('outpaint');
  let outpaint: TaskMessage['outpaint'];
  if (o !== undefined) {
    const side = o.literal('side', OUTPAINT_SIDES);
    const amount = o.uint('amount', 1, MAX_OUTPAINT_AMOUNT);
    o.end();
    outpaint = { side, amount };
  }

  const steps = f.optUint('steps', 1, MAX_STEPS);
  const startAfter = f.optUint('startAfter', 0, MAX_STAGES);
  const reliableStages = f.optUint('reliableStages', 0, MAX_STAGES);
  f.end();

  const msg: { -readonly [K in keyof TaskMessage]: TaskMessage[K] } = {
    type: 'task',
    requestId,
    task,
    grid: { width, height },
    schedule: { kind, stages, seed },
  };
  // Absent optionals stay absent (not `undefined`), so a round trip is exact.
  if (text !== undefined) msg.text = text;
  if (mask !== undefined) msg.mask = mask;
  if (outpaint !== undefined) msg.outpaint = outpaint;
  if (steps !== undefined) msg.steps = steps;
  if (startAfter !== undefined) msg.startAfter = startAfter;
  if (reliableStages !== undefined) msg.reliableStages = reliableStages;
  return msg;
}
