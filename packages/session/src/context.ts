import { UNKNOWN } from '@unimic/models';
import { windowContext, type RequestPlan } from './plan.ts';

/*
 * The coding-context rule: which tokens each stage of a request is coded against. The sender
 * codes against it and the receiver rebuilds it, so both peers must compute it identically;
 * this module is the only place it is written.
 *
 *   upload stage s   the tokens of upload stages < uploadContextStages(plan, s): every earlier
 *                    stage, or on a partially reliable session only the reliable prefix (a later
 *                    stage may be lost, so nothing is coded against it).
 *   generation step t  the model window of the upload stages < u, u being the count its `step`
 *                    message names (`upStages`: what the cloud had complete when it coded t), plus,
 *                    on a reliable session, the tokens of every step < t. On a partially reliable
 *                    session a step may be lost, so steps are coded against the upload only.
 */

/** Upload stages that stage `s` is coded against (a prefix). */
export function uploadContextStages(plan: RequestPlan, s: number): number {
  return plan.reliableStages === null ? s : Math.min(s, plan.reliableStages);
}

/** `grid` (the image's tokens, on the model grid) restricted to the cells of upload stages < k. */
export function uploadPrefix(plan: RequestPlan, grid: Int32Array, k: number): Int32Array {
  const out = new Int32Array(grid.length).fill(UNKNOWN);
  for (const stage of plan.upStages.slice(0, k)) for (const p of stage) out[p] = grid[p] as number;
  return out;
}

/** The context of upload stage `s`, from the image's tokens (the edge's own, or what the cloud received). */
export function uploadStageContext(plan: RequestPlan, grid: Int32Array, s: number): Int32Array {
  return uploadPrefix(plan, grid, uploadContextStages(plan, s));
}

/** Whether generation steps are coded against earlier steps (only when no step can be lost). */
export function stepsChain(plan: RequestPlan): boolean {
  return plan.reliableStages === null;
}

/**
 * The context of a generation step.
 * @param grid the image's tokens on the model grid (the edge's own, or what the cloud received)
 * @param upStages the upload prefix the step's `step` message names
 * @param earlierSteps the model window holding the tokens of every earlier step (UNKNOWN elsewhere);
 *   ignored on a partially reliable session
 */
export function stepContext(plan: RequestPlan, grid: Int32Array, upStages: number, earlierSteps: Int32Array): Int32Array {
  const context = windowContext(plan, uploadPrefix(plan, grid, upStages), UNKNOWN);
  if (stepsChain(plan)) earlierSteps.forEach((t, i) => t !== UNKNOWN && (context[i] = t));
  return context;
}
