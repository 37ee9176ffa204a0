import { createRng } from '@unimic/protocol';

/**
 * A tiny benchmark harness: suites report named metrics; the runner prints a table or, with
 * --json, one `{"name","value","unit"}` object per line for machines to read.
 *
 * Timings on a shared machine are noisy, so helpers take the best (for throughput) or the
 * median (for latency) of several repetitions, and suites report ratios measured in one run.
 */
export interface Metric {
  name: string;
  value: number;
  unit: string;
  /** Optional goal, shown in the table: value must be ≤ (or ≥) this. */
  goal?: { op: '<=' | '>='; value: number };
  note?: string;
}

export interface Suite {
  name: string;
  run(report: (metric: Metric) => void): Promise<void> | void;
}

/** Runs `fn` `reps` times and returns each duration in milliseconds. */
export function timeRuns(reps: number, fn: () => void): number[] {
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

/** Seeded uniform numbers in [0, 1): benchmarks use the same inputs every run. */
export function rng(seed: number): () => number {
  const next = createRng(seed);
  return () => next() / 2 ** 32;
}

/** Standard normal samples (Box-Muller) from a uniform source. */
export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(rand() + 1e-300)) * Math.cos(2 * Math.PI * rand());
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1e6) return v.toExponential(3);
  if (Number.isInteger(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(1);
  if (Math.abs(v - 1) < 0.01) return v.toFixed(7); // ratios near 1: show the overhead digits
  return v.toPrecision(6);
}

export function goalMet(m: Metric): boolean | null {
  if (!m.goal) return null;
  return m.goal.op === '<=' ? m.value <= m.goal.value : m.value >= m.goal.value;
}
