import {
  ErrorCode,
  ProtocolError,
  STREAM_IDS,
  TASKS,
  buildSchedule,
  extensionGeometry,
  maskedPositions,
  unmaskedPositions,
  type ExtensionGeometry,
  type TaskMessage,
} from '@unimic/protocol';

/*
 * What one request moves, derived by both peers from the `task` message alone (and the task
 * table), so they agree without further negotiation: which cells go up in which stage, which
 * cells the cloud generates, on which streams, and — for outpainting — how the model's fixed
 * 16x16 window sits on the larger canvas.
 */

/** Model grids are square here (the default pack: 16x16). */
export interface RequestPlan {
  readonly task: TaskMessage;
  /** Model grid side. */
  readonly side: number;
  /** Upload: stream id and, per schedule stage, the cells that travel (may be empty). */
  readonly upStream: number | null;
  readonly upStages: readonly Uint16Array[];
  /** Cells of the model window the cloud generates (empty for VQA). */
  readonly target: Uint16Array;
  readonly downStream: number;
  /** Outpainting: the canvas, and the model window on it. */
  readonly canvas?: ExtensionGeometry;
  /** window cell → canvas cell (outpainting), identity otherwise. */
  readonly windowToCanvas?: Uint16Array;
  /**
   * Partially reliable session: upload stages below this travel reliably and are the most any
   * stage is coded against; generation steps are coded against the upload only. null: reliable.
   */
  readonly reliableStages: number | null;
}

/** Largest outpainting extension: the 16-cell window keeps at least a third of old context. */
export const MAX_OUTPAINT_AMOUNT = 10;

export function planRequest(task: TaskMessage, side = 16): RequestPlan {
  const { width, height } = task.grid;
  if (width !== side || height !== side) throw new ProtocolError(ErrorCode.InvalidArgument, `grid ${width}x${height}: this pack codes ${side}x${side}`);
  const spec = TASKS[task.task];
  const cells = side * side;
  const all = Uint16Array.from({ length: cells }, (_, i) => i);
  const schedule = buildSchedule({ width: side, height: side, stages: task.schedule.stages, kind: task.schedule.kind, seed: task.schedule.seed });
  const imageUp = spec.up.find((s) => s.codec === 'image');
  const imageDown = spec.down[0];
  if (!imageDown) throw new ProtocolError(ErrorCode.InvalidArgument, `task ${task.task} sends nothing down`);
  const text = spec.up.find((s) => s.codec === 'text');
  if (text?.required && !task.text) throw new ProtocolError(ErrorCode.InvalidField, `${task.task} needs a ${text.set === 'text:question' ? 'question' : 'prompt'}`);
  if (!text && task.text) throw new ProtocolError(ErrorCode.InvalidField, `${task.task} takes no text`);
  if (task.mask && task.task !== 'inpaint') throw new ProtocolError(ErrorCode.InvalidField, `${task.task} takes no mask`);
  if (task.outpaint && task.task !== 'outpaint') throw new ProtocolError(ErrorCode.InvalidField, `${task.task} takes no outpainting geometry`);
  let sent: Uint16Array = all;
  let target: Uint16Array = new Uint16Array(0);
  let canvas: ExtensionGeometry | undefined;
  let windowToCanvas: Uint16Array | undefined;
  switch (task.task) {
    case 't2i':
      target = all;
      break;
    case 'inpaint': {
      if (!task.mask) throw new ProtocolError(ErrorCode.InvalidField, 'inpainting needs a mask');
      target = maskedPositions(task.mask, side, side);
      sent = unmaskedPositions(task.mask, side, side);
      if (target.length === 0) throw new ProtocolError(ErrorCode.InvalidField, 'the mask selects no cell');
      break;
    }
    case 'outpaint': {
      const o = task.outpaint;
      if (!o) throw new ProtocolError(ErrorCode.InvalidField, 'outpainting needs a side and an amount');
      if (o.amount > MAX_OUTPAINT_AMOUNT) throw new ProtocolError(ErrorCode.InvalidField, `outpainting amount ${o.amount} > ${MAX_OUTPAINT_AMOUNT}`);
      canvas = extensionGeometry(side, side, o.side, o.amount);
      // the window: the side x side block of the canvas at the new edge
      const ox = o.side === 'right' ? o.amount : 0;
      const oy = o.side === 'bottom' ? o.amount : 0;
      windowToCanvas = Uint16Array.from({ length: cells }, (_, i) => (Math.floor(i / side) + oy) * canvas!.width + (i % side) + ox);
      const isNew = new Uint8Array(canvas.width * canvas.height);
      for (const p of canvas.newRegion) isNew[p] = 1;
      target = all.filter((i) => isNew[windowToCanvas![i] as number] === 1);
      break;
    }
    case 'vqa':
      break;
  }
  const upStages = imageUp ? schedule.stages.map((st) => st.filter((p) => inSet(sent, p))) : [];
  return {
    task,
    side,
    upStream: imageUp ? STREAM_IDS[imageUp.set] : null,
    upStages,
    target,
    downStream: STREAM_IDS[imageDown.set],
    reliableStages: task.reliableStages ?? null,
    ...(canvas ? { canvas, windowToCanvas: windowToCanvas as Uint16Array } : {}),
  };
}

function inSet(sortedCells: Uint16Array, p: number): boolean {
  let lo = 0;
  let hi = sortedCells.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sortedCells[mid] as number;
    if (v === p) return true;
    if (v < p) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * The model-window context the cloud generates in, from the uploaded grid (UNKNOWN = not known):
 * the grid itself, or for outpainting the old cells that fall in the window.
 */
export function windowContext(plan: RequestPlan, uploaded: Int32Array, unknown: number): Int32Array {
  const cells = plan.side * plan.side;
  const out = new Int32Array(cells).fill(unknown);
  if (plan.task.task === 't2i' || plan.task.task === 'vqa') {
    if (plan.task.task === 'vqa') out.set(uploaded);
    return out;
  }
  if (!plan.canvas || !plan.windowToCanvas) {
    out.set(uploaded);
    for (const p of plan.target) out[p] = unknown;
    return out;
  }
  const newToOld = new Map<number, number>();
  plan.canvas.oldToNew.forEach((np, old) => newToOld.set(np, old));
  for (let i = 0; i < cells; i++) {
    const old = newToOld.get(plan.windowToCanvas[i] as number);
    if (old !== undefined) out[i] = uploaded[old] as number;
  }
  return out;
}
