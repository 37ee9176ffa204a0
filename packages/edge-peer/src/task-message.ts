import { ProtocolError, ErrorCode, compressText, maskFromPositions, type TaskMessage } from '@unimic/protocol';
import type { EdgeTask } from './edge-peer.ts';

/**
 * The `task` message for an edge's request on a `side`x`side` model grid. `partiallyReliable`:
 * the tokens channel may lose chunks, so the task names how many upload stages go reliably.
 */
export function taskMessage(t: EdgeTask, side: number, partiallyReliable: boolean): TaskMessage {
  const cells = side * side;
  if (t.task !== 't2i' && (!t.grid || t.grid.length !== cells)) throw new ProtocolError(ErrorCode.InvalidArgument, `${t.task} needs the image's ${cells} tokens`);
  const text = t.text ?? '';
  return {
    type: 'task',
    requestId: t.requestId,
    task: t.task,
    grid: { width: side, height: side },
    schedule: t.schedule ?? { kind: 'cosine', stages: 8, seed: t.requestId },
    ...(text ? { text: compressText(text) } : {}),
    ...(t.task === 'inpaint' ? { mask: maskFromPositions(t.region ?? [], side, side) } : {}),
    ...(t.task === 'outpaint' ? { outpaint: t.outpaint ?? { side: 'right', amount: 8 } } : {}),
    ...(t.steps ? { steps: t.steps } : {}),
    ...(t.startAfter !== undefined ? { startAfter: t.startAfter } : {}),
    ...(partiallyReliable ? { reliableStages: t.reliableStages ?? 4 } : {}),
  };
}
