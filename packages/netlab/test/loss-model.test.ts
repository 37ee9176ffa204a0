import { describe, expect, it } from 'vitest';
import {
  WLAN_TWO_STATE,
  createDelayProcess,
  createImpairmentProcess,
  createLossProcess,
  gilbertElliott,
  meanBurstLength,
  randomLoss,
  stationaryLossRate,
} from '../src/index.ts';
import type { LossModel } from '../src/index.ts';
import { lossStats } from './stats.ts';

const N = 200_000;

function pattern(model: LossModel, seed: number, n = N): boolean[] {
  const proc = createLossProcess(model, seed);
  return Array.from({ length: n }, () => proc.drop());
}

describe('analytic expectations', () => {
  it('WLAN preset: 13.9 % loss, bursts of 1.68', () => {
    expect(stationaryLossRate(WLAN_TWO_STATE)).toBeCloseTo(0.0958 / 0.6898, 10);
    expect(stationaryLossRate(WLAN_TWO_STATE)).toBeCloseTo(0.1389, 4);
    expect(meanBurstLength(WLAN_TWO_STATE)).toBeCloseTo(1 / 0.594, 10);
  });
  it('random loss bursts are geometric, 1/(1-rate)', () => {
    expect(meanBurstLength(randomLoss(0.2))).toBeCloseTo(1.25, 12);
    expect(meanBurstLength(randomLoss(0))).toBe(0);
  });
  it('rejects probabilities outside [0, 1]', () => {
    expect(() => randomLoss(1.5)).toThrow(RangeError);
    expect(() => gilbertElliott({ p: -0.1, r: 0.5, lossGood: 0, lossBad: 1 })).toThrow(RangeError);
  });
});

describe('measured over 200,000 packets', () => {
  const models: Array<[string, LossModel]> = [
    ['WLAN 2-state', WLAN_TWO_STATE],
    ['random 10 %', randomLoss(0.1)],
    ['GE with partial loss in both states', gilbertElliott({ p: 0.02, r: 0.2, lossGood: 0.01, lossBad: 0.6 })],
  ];
  for (const [name, model] of models) {
    it(name, () => {
      const s = lossStats(pattern(model, 12345));
      const rate = stationaryLossRate(model);
      const burst = meanBurstLength(model);
      console.log(`${name}: loss ${(s.rate * 100).toFixed(2)} % (expected ${(rate * 100).toFixed(2)}), burst ${s.meanBurst.toFixed(3)} (expected ${burst.toFixed(3)})`);
      // Correlated samples: the standard error is a few times the iid sqrt(p(1-p)/N) ≈ 0.08 %.
      expect(Math.abs(s.rate - rate)).toBeLessThan(0.005);
      expect(Math.abs(s.meanBurst - burst) / burst).toBeLessThan(0.03);
    });
  }
});

describe('seeding', () => {
  it('same seed ⇒ same drop pattern, different seed ⇒ different', () => {
    const a = pattern(WLAN_TWO_STATE, 7, 100_000);
    const b = pattern(WLAN_TWO_STATE, 7, 100_000);
    const c = pattern(WLAN_TWO_STATE, 8, 100_000);
    expect(b).toEqual(a);
    const differing = a.reduce((n, x, i) => n + (x !== c[i] ? 1 : 0), 0);
    expect(differing).toBeGreaterThan(10_000); // ~2·p(1-p)·N ≈ 24,000 for independent patterns
  });
  it('loss decisions do not depend on the delay model', () => {
    const drops = (delayMs: number): boolean[] => {
      const p = createImpairmentProcess({ seed: 3, loss: WLAN_TWO_STATE, delay: { delayMs, jitterMs: 5 } });
      return Array.from({ length: 10_000 }, () => p.next().dropped);
    };
    expect(drops(10)).toEqual(drops(50));
  });
});

describe('delay model', () => {
  it('uniform jitter stays in bounds with the right mean and spread', () => {
    const p = createDelayProcess({ delayMs: 30, jitterMs: 10, jitter: 'uniform' }, 1);
    const d = Array.from({ length: N }, () => p.next().delayMs);
    const mean = d.reduce((a, b) => a + b, 0) / N;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / N);
    expect(d.reduce((a, b) => Math.min(a, b), Infinity)).toBeGreaterThanOrEqual(20);
    expect(d.reduce((a, b) => Math.max(a, b), -Infinity)).toBeLessThanOrEqual(40);
    expect(mean).toBeCloseTo(30, 1);
    expect(sd).toBeCloseTo(10 / Math.sqrt(3), 1);
  });
  it('normal jitter has the requested standard deviation', () => {
    const p = createDelayProcess({ delayMs: 50, jitterMs: 5, jitter: 'normal' }, 2);
    const d = Array.from({ length: N }, () => p.next().delayMs);
    const mean = d.reduce((a, b) => a + b, 0) / N;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / N);
    expect(mean).toBeCloseTo(50, 1);
    expect(sd).toBeCloseTo(5, 1);
  });
  it('reorder and duplicate rates', () => {
    const p = createDelayProcess({ reorderRate: 0.05, reorderExtraMs: 20, duplicateRate: 0.03 }, 3);
    let reordered = 0;
    let dups = 0;
    for (let i = 0; i < N; i++) {
      const x = p.next();
      if (x.reordered) reordered++;
      if (x.duplicateDelayMs !== null) dups++;
    }
    expect(reordered / N).toBeCloseTo(0.05, 2);
    expect(dups / N).toBeCloseTo(0.03, 2);
  });
});
