import { describe, expect, it } from 'vitest';
import { ErrorCode, isProtocolError, maskFromPositions, type TaskMessage } from '@unimic/protocol';
import { MAX_OUTPAINT_AMOUNT, planRequest } from '../src/index.ts';

/*
 * What each task takes and gives (the task table), and every way a task request can be wrong:
 * the cloud refuses these with a typed error before any token is decoded.
 */

const base = { type: 'task', requestId: 1, grid: { width: 16, height: 16 }, schedule: { kind: 'cosine', stages: 8, seed: 5 } } as const;
const text = new Uint8Array([1, 2, 3]);
const hole = maskFromPositions(Array.from({ length: 256 }, (_, i) => i).filter((i) => i % 16 < 4), 16, 16);
const task = (t: Partial<TaskMessage> & Pick<TaskMessage, 'task'>) => ({ ...base, ...t }) as TaskMessage;

const cellsUp = (p: ReturnType<typeof planRequest>) => p.upStages.reduce((a, s) => a + s.length, 0);

function refusal(t: TaskMessage): unknown {
  try {
    planRequest(t);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('request plans', () => {
  it('text-to-image: nothing up, every cell generated', () => {
    const p = planRequest(task({ task: 't2i', text }));
    expect(p.upStages).toEqual([]);
    expect(p.target.length).toBe(256);
  });

  it('inpainting: the unmasked cells go up in 8 stages, the masked cells are generated', () => {
    const p = planRequest(task({ task: 'inpaint', mask: hole }));
    expect(p.upStages.length).toBe(8);
    expect(cellsUp(p)).toBe(192);
    expect(p.target.length).toBe(64);
    for (const st of p.upStages) for (const c of Array.from(st)) expect(c % 16).toBeGreaterThanOrEqual(4);
  });

  it('outpainting on every side: the new region of the window is generated, the whole grid goes up', () => {
    for (const side of ['left', 'right', 'top', 'bottom'] as const) {
      const p = planRequest(task({ task: 'outpaint', outpaint: { side, amount: 6 } }));
      expect(p.target.length).toBe(6 * 16);
      expect(cellsUp(p)).toBe(256);
      expect(p.canvas?.width).toBe(side === 'left' || side === 'right' ? 22 : 16);
    }
  });

  it('VQA: the whole grid up, no image cells down', () => {
    const p = planRequest(task({ task: 'vqa', text }));
    expect(cellsUp(p)).toBe(256);
    expect(p.target.length).toBe(0);
  });

  it.each([
    ['t2i without a prompt', task({ task: 't2i' }), ErrorCode.InvalidField],
    ['VQA without a question', task({ task: 'vqa' }), ErrorCode.InvalidField],
    ['inpainting without a mask', task({ task: 'inpaint' }), ErrorCode.InvalidField],
    ['inpainting with an empty mask', task({ task: 'inpaint', mask: new Uint8Array(32) }), ErrorCode.InvalidField],
    ['outpainting without a geometry', task({ task: 'outpaint' }), ErrorCode.InvalidField],
    ['outpainting too far', task({ task: 'outpaint', outpaint: { side: 'left', amount: MAX_OUTPAINT_AMOUNT + 1 } }), ErrorCode.InvalidField],
    ['a mask on a task that takes none', task({ task: 'vqa', text, mask: hole }), ErrorCode.InvalidField],
    ['a geometry on a task that takes none', task({ task: 'inpaint', mask: hole, outpaint: { side: 'top', amount: 2 } }), ErrorCode.InvalidField],
    ['a grid the pack does not code', task({ task: 'vqa', text, grid: { width: 32, height: 32 } }), ErrorCode.InvalidArgument],
    ['a schedule with no stages', task({ task: 'vqa', text, schedule: { kind: 'cosine', stages: 0, seed: 1 } }), undefined],
  ])('refuses %s', (_, t, code) => {
    const err = refusal(t);
    expect(isProtocolError(err)).toBe(true);
    if (code) expect(isProtocolError(err, code)).toBe(true);
  });
});
