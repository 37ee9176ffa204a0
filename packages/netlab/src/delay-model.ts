/**
 * Per-packet delay, reordering and duplication.
 *
 * Why: WebRTC's SCTP/DTLS stack reacts to RTT, jitter, reordering and duplicates (RTO, SACK gaps,
 * fast retransmit), none of which this kernel can emulate (no netem). The relay asks this model, per
 * packet, for the delays at which copies go out; it is pure and seeded so a run can be replayed.
 *
 * Semantics per packet: base delay `delayMs` + jitter (uniform in ±`jitterMs`, or normal with standard
 * deviation `jitterMs`, clamped at 0); with probability `reorderRate` an extra `reorderExtraMs` holds
 * the packet back so later packets overtake it; with probability `duplicateRate` a second copy is sent
 * with its own, independently drawn delay. Note that jitter alone already reorders packets sent closer
 * together than the jitter spread, as on a real multipath link.
 */
import { createRng } from './rng.ts';

export interface DelayModel {
  readonly delayMs?: number;
  readonly jitterMs?: number;
  readonly jitter?: 'uniform' | 'normal';
  readonly reorderRate?: number;
  readonly reorderExtraMs?: number;
  readonly duplicateRate?: number;
}

export interface DelayDecision {
  /** Delay of the first copy, ms. */
  readonly delayMs: number;
  /** Whether the first copy was held back for reordering. */
  readonly reordered: boolean;
  /** Delay of the duplicate copy, or null when not duplicated. */
  readonly duplicateDelayMs: number | null;
}

export interface DelayProcess {
  next(): DelayDecision;
}

export function createDelayProcess(model: DelayModel, seed: number): DelayProcess {
  const m = normalizeDelayModel(model);
  const rng = createRng(seed);
  let spareNormal: number | null = null;
  const normal = (): number => {
    if (spareNormal !== null) {
      const s = spareNormal;
      spareNormal = null;
      return s;
    }
    // Box–Muller; 1 − u keeps the log argument in (0, 1].
    const u = 1 - rng.next();
    const v = rng.next();
    const rad = Math.sqrt(-2 * Math.log(u));
    spareNormal = rad * Math.sin(2 * Math.PI * v);
    return rad * Math.cos(2 * Math.PI * v);
  };
  const sample = (): { delayMs: number; reordered: boolean } => {
    let d = m.delayMs;
    if (m.jitterMs > 0) d += m.jitter === 'uniform' ? (2 * rng.next() - 1) * m.jitterMs : normal() * m.jitterMs;
    const reordered = m.reorderRate > 0 && rng.next() < m.reorderRate;
    if (reordered) d += m.reorderExtraMs;
    return { delayMs: Math.max(0, d), reordered };
  };
  return {
    next(): DelayDecision {
      const first = sample();
      const dup = m.duplicateRate > 0 && rng.next() < m.duplicateRate ? sample().delayMs : null;
      return { delayMs: first.delayMs, reordered: first.reordered, duplicateDelayMs: dup };
    },
  };
}

/** Expected mean one-way delay (ms) of a first copy, ignoring the clamp at 0. */
export function expectedDelayMs(model: DelayModel): number {
  const m = normalizeDelayModel(model);
  return m.delayMs + m.reorderRate * m.reorderExtraMs;
}

export function normalizeDelayModel(model: DelayModel): Required<DelayModel> {
  const m: Required<DelayModel> = {
    delayMs: model.delayMs ?? 0,
    jitterMs: model.jitterMs ?? 0,
    jitter: model.jitter ?? 'uniform',
    reorderRate: model.reorderRate ?? 0,
    reorderExtraMs: model.reorderExtraMs ?? 0,
    duplicateRate: model.duplicateRate ?? 0,
  };
  for (const k of ['delayMs', 'jitterMs', 'reorderExtraMs'] as const) {
    if (!(Number.isFinite(m[k]) && m[k] >= 0)) throw new RangeError(`${k} must be finite and ≥ 0, got ${m[k]}`);
  }
  for (const k of ['reorderRate', 'duplicateRate'] as const) {
    if (!(Number.isFinite(m[k]) && m[k] >= 0 && m[k] <= 1)) throw new RangeError(`${k} must be in [0, 1], got ${m[k]}`);
  }
  if (m.jitter !== 'uniform' && m.jitter !== 'normal') throw new RangeError(`unknown jitter kind ${String(m.jitter)}`);
  return m;
}
