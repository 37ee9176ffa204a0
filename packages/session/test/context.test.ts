import { describe, expect, it } from 'vitest';
import { UNKNOWN } from '@unimic/models';
import { maskFromPositions, type TaskMessage } from '@unimic/protocol';
import { planRequest, stepContext, stepsChain, uploadContextStages, uploadPrefix, uploadStageContext, windowContext } from '../src/index.ts';

/*
 * The coding-context rule (context.ts) on its own: exactly which cells each upload stage and each
 * generation step is coded against, reliable and partially reliable, on the model grid and on an
 * outpainting window. Pure: no model runs.
 */

const base = { type: 'task', requestId: 1, grid: { width: 16, height: 16 }, schedule: { kind: 'cosine', stages: 8, seed: 5 } } as const;
const task = (t: Partial<TaskMessage> & Pick<TaskMessage, 'task'>) => ({ ...base, ...t }) as TaskMessage;
const grid = Int32Array.from({ length: 256 }, (_, i) => 1000 + i);
const known = (g: Int32Array) => new Set(Array.from(g.keys()).filter((i) => g[i] !== UNKNOWN));
const cellsOf = (stages: readonly Uint16Array[]) => new Set(stages.flatMap((s) => Array.from(s)));
const hole = Array.from({ length: 256 }, (_, i) => i).filter((i) => i % 16 >= 4 && i % 16 < 12 && i >> 4 >= 4 && i >> 4 < 12);

describe('the coding-context rule', () => {
  it('reliable: upload stage s is coded against exactly the cells of stages < s, with their tokens', () => {
    const plan = planRequest(task({ task: 'vqa', text: new Uint8Array([1]) }));
    for (let s = 0; s < plan.upStages.length; s++) {
      expect(uploadContextStages(plan, s)).toBe(s);
      const ctx = uploadStageContext(plan, grid, s);
      expect(known(ctx)).toEqual(cellsOf(plan.upStages.slice(0, s)));
      for (const p of known(ctx)) expect(ctx[p]).toBe(grid[p]);
    }
  });

  it('partially reliable: no upload stage is coded against a stage that may be lost', () => {
    const plan = planRequest(task({ task: 'vqa', text: new Uint8Array([1]), reliableStages: 3 }));
    expect(uploadContextStages(plan, 2)).toBe(2);
    for (const s of [3, 5, 7]) {
      expect(uploadContextStages(plan, s)).toBe(3);
      expect(known(uploadStageContext(plan, grid, s))).toEqual(cellsOf(plan.upStages.slice(0, 3)));
    }
  });

  it('an inpainting upload never carries a masked cell, and stage contexts only hold what was sent', () => {
    const plan = planRequest(task({ task: 'inpaint', mask: maskFromPositions(hole, 16, 16) }));
    const masked = new Set(hole);
    for (let s = 0; s <= plan.upStages.length; s++) for (const p of known(uploadPrefix(plan, grid, s))) expect(masked.has(p)).toBe(false);
  });

  it('reliable: step t sees the upload prefix its step message names and every earlier step; never its own cells', () => {
    const plan = planRequest(task({ task: 'inpaint', mask: maskFromPositions(hole, 16, 16) }));
    expect(stepsChain(plan)).toBe(true);
    const earlier = new Int32Array(256).fill(UNKNOWN);
    const stepCells = hole.slice(0, 10);
    stepCells.forEach((p, j) => (earlier[p] = 7 + j));
    const ctx = stepContext(plan, grid, 3, earlier);
    const expected = new Set([...cellsOf(plan.upStages.slice(0, 3)), ...stepCells]);
    expect(known(ctx)).toEqual(expected);
    stepCells.forEach((p, j) => expect(ctx[p]).toBe(7 + j));
  });

  it('partially reliable: steps are coded against the upload prefix only', () => {
    const plan = planRequest(task({ task: 'inpaint', mask: maskFromPositions(hole, 16, 16), reliableStages: 4 }));
    expect(stepsChain(plan)).toBe(false);
    const earlier = new Int32Array(256).fill(UNKNOWN);
    earlier[hole[0] as number] = 5;
    expect(known(stepContext(plan, grid, 4, earlier))).toEqual(cellsOf(plan.upStages.slice(0, 4)));
  });

  it('outpainting: a step context lives on the model window, where the old cells that fall in it are', () => {
    const plan = planRequest(task({ task: 'outpaint', outpaint: { side: 'right', amount: 6 } }));
    const ctx = stepContext(plan, grid, plan.upStages.length, new Int32Array(256).fill(UNKNOWN));
    expect(ctx).toEqual(windowContext(plan, grid, UNKNOWN));
    // the window's first 10 columns are the old grid's last 10; its last 6 are new (the target)
    for (let i = 0; i < 256; i++) expect(ctx[i]).toBe(i % 16 < 10 ? grid[(i >> 4) * 16 + (i % 16) + 6] : UNKNOWN);
    expect(new Set(plan.target)).toEqual(new Set(Array.from({ length: 256 }, (_, i) => i).filter((i) => i % 16 >= 10)));
  });

  it('text-to-image: nothing uploaded, step contexts hold only earlier steps', () => {
    const plan = planRequest(task({ task: 't2i', text: new Uint8Array([1]) }));
    expect(known(stepContext(plan, new Int32Array(256).fill(UNKNOWN), 0, new Int32Array(256).fill(UNKNOWN))).size).toBe(0);
  });
});
