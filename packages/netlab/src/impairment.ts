/**
 * One direction's impairment = a loss model + a delay model + a seed.
 *
 * Why a separate module: the relay (I/O) and offline simulations (no I/O) must make the *same*
 * decisions for the same seed, so the combination lives here, pure, and the relay only executes it.
 * Loss and delay draw from independent sub-seeds so changing the delay model never changes which
 * packets are dropped.
 */
import { createDelayProcess } from './delay-model.ts';
import type { DelayModel } from './delay-model.ts';
import { createLossProcess } from './gilbert-elliott.ts';
import type { LossModel } from './gilbert-elliott.ts';
import { deriveSeed } from './rng.ts';

export interface Impairment {
  readonly loss?: LossModel;
  readonly delay?: DelayModel;
  /** Same seed ⇒ same decisions, packet by packet. Default 1. */
  readonly seed?: number;
}

export type PacketFate =
  | { readonly dropped: true }
  | {
      readonly dropped: false;
      /** Delay (ms) of each copy to send; length 1, or 2 when duplicated. */
      readonly copies: readonly number[];
      readonly reordered: boolean;
    };

export interface ImpairmentProcess {
  /** Decide the fate of the next packet (call once per packet, in arrival order). */
  next(): PacketFate;
}

const DROPPED: PacketFate = Object.freeze({ dropped: true });

export function createImpairmentProcess(imp: Impairment): ImpairmentProcess {
  const seed = imp.seed ?? 1;
  const loss = createLossProcess(imp.loss ?? { kind: 'none' }, deriveSeed(seed, 1));
  const delay = imp.delay === undefined ? null : createDelayProcess(imp.delay, deriveSeed(seed, 2));
  return {
    next(): PacketFate {
      if (loss.drop()) return DROPPED;
      if (delay === null) return { dropped: false, copies: [0], reordered: false };
      const d = delay.next();
      return {
        dropped: false,
        copies: d.duplicateDelayMs === null ? [d.delayMs] : [d.delayMs, d.duplicateDelayMs],
        reordered: d.reordered,
      };
    },
  };
}
