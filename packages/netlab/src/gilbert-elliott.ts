/**
 * Packet loss models: independent (Bernoulli) loss and the Gilbert–Elliott two-state Markov chain.
 *
 * Why: real links (WLAN, congested queues) lose packets in bursts, and a loss-resilient token coder
 * behaves very differently under bursty loss than under the same average rate of independent loss.
 * The kernel here has no netem, so bursty loss is produced in userspace (see udp-relay.ts) from this
 * pure, seeded model; the analytic functions let tests and experiments check what was emulated.
 *
 * Chain: states good (G) and bad (B). Per packet the chain first moves (G→B with probability `p`,
 * B→G with probability `r`), then the packet is lost with probability `lossGood` or `lossBad` of the
 * state it is in. The first packet's state is drawn from the stationary distribution, so the process
 * is stationary from packet one (no warm-up bias in short runs).
 *
 * WLAN preset (ResiComp, `network/packet_tracer.py`, after Yajnik et al., INFOCOM '99): the published
 * "transition probabilities 0.9042 / 0.406" are the two *self-loop* probabilities, P(G→G) = 0.9042 and
 * P(B→B) = 0.406 (ResiComp's code names them Q and q and computes loss = (1−Q)/(2−Q−q), burst
 * = 1/(1−q)). Hence p = 1 − 0.9042 = 0.0958 and r = 1 − 0.406 = 0.594, lossGood = 0, lossBad = 1:
 * stationary loss p/(p+r) = 0.0958/0.6898 = 13.89 %, mean burst 1/r = 1.684 packets — the numbers
 * the papers quote. Reading 0.406 as r (B→G) instead would give 19.1 % loss and bursts of 2.46, which
 * matches neither figure.
 */
import { createRng } from './rng.ts';

export interface GilbertElliottParams {
  /** P(good → bad) per packet. */
  readonly p: number;
  /** P(bad → good) per packet. */
  readonly r: number;
  /** Loss probability while in the good state. */
  readonly lossGood: number;
  /** Loss probability while in the bad state. */
  readonly lossBad: number;
}

export type LossModel =
  | { readonly kind: 'none' }
  | { readonly kind: 'random'; readonly rate: number }
  | ({ readonly kind: 'gilbert-elliott' } & GilbertElliottParams);

/** ResiComp's 2-state WLAN trace: ≈13.9 % loss in bursts of ≈1.68 packets. */
export const WLAN_TWO_STATE: LossModel = Object.freeze({
  kind: 'gilbert-elliott',
  p: 1 - 0.9042,
  r: 1 - 0.406,
  lossGood: 0,
  lossBad: 1,
});

/** Independent loss at `rate` (0..1). */
export function randomLoss(rate: number): LossModel {
  checkProbability('rate', rate);
  return { kind: 'random', rate };
}

export function gilbertElliott(params: GilbertElliottParams): LossModel {
  checkGilbertElliott(params);
  return { kind: 'gilbert-elliott', ...params };
}

/** A stateful, seeded drop decider; call `drop()` once per packet, in order. */
export interface LossProcess {
  drop(): boolean;
}

export function createLossProcess(model: LossModel, seed: number): LossProcess {
  const rng = createRng(seed);
  switch (model.kind) {
    case 'none':
      return { drop: () => false };
    case 'random': {
      checkProbability('rate', model.rate);
      const rate = model.rate;
      return { drop: () => rng.next() < rate };
    }
    case 'gilbert-elliott': {
      checkGilbertElliott(model);
      const { p, r, lossGood, lossBad } = model;
      let bad: boolean | null = null;
      return {
        drop(): boolean {
          if (bad === null) bad = rng.next() < stationaryBadShare(model);
          else bad = bad ? !(rng.next() < r) : rng.next() < p;
          return rng.next() < (bad ? lossBad : lossGood);
        },
      };
    }
  }
}

/** Stationary probability of the bad state, p / (p + r). */
export function stationaryBadShare({ p, r }: GilbertElliottParams): number {
  return p + r === 0 ? 0 : p / (p + r);
}

/** Long-run fraction of packets lost. */
export function stationaryLossRate(model: LossModel): number {
  switch (model.kind) {
    case 'none':
      return 0;
    case 'random':
      return model.rate;
    case 'gilbert-elliott': {
      const b = stationaryBadShare(model);
      return (1 - b) * model.lossGood + b * model.lossBad;
    }
  }
}

/**
 * Mean length of a run of consecutive lost packets, = P(loss) / P(a loss not preceded by a loss)
 * = P(L) / (P(L) − P(L,L)). For lossGood = 0, lossBad = 1 this is 1/r; for independent loss 1/(1−rate).
 * Returns 0 when nothing is ever lost, Infinity when everything is.
 */
export function meanBurstLength(model: LossModel): number {
  const pl = stationaryLossRate(model);
  if (pl === 0) return 0;
  let pll: number;
  switch (model.kind) {
    case 'none':
      return 0;
    case 'random':
      pll = model.rate * model.rate;
      break;
    case 'gilbert-elliott': {
      const { p, r, lossGood: hg, lossBad: hb } = model;
      const b = stationaryBadShare(model);
      // Lost now in state s, then move, then lost again in the new state.
      pll = (1 - b) * hg * ((1 - p) * hg + p * hb) + b * hb * (r * hg + (1 - r) * hb);
      break;
    }
  }
  const starts = pl - pll;
  return starts <= 0 ? Infinity : pl / starts;
}

function checkProbability(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0 && v <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${v}`);
}

function checkGilbertElliott(g: GilbertElliottParams): void {
  checkProbability('p', g.p);
  checkProbability('r', g.r);
  checkProbability('lossGood', g.lossGood);
  checkProbability('lossBad', g.lossBad);
}
