import type { ByteChannel } from '../src/types.ts';

/**
 * Small-message latency in bursts (the metric: bursts of 64 messages of 200 bytes).
 * Each message carries its index; arrival is matched by index, so unordered delivery is fine.
 */
export interface BurstOptions {
  bursts: number;
  perBurst?: number;
  size?: number;
  /** Pause between bursts (ms). */
  gapMs?: number;
  /** Bursts run first and not counted (JIT, congestion window). */
  warmup?: number;
  /** Give up on a burst after this long (ms). */
  burstTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function bursts(
  tx: ByteChannel,
  rx: ByteChannel,
  opts: BurstOptions,
  scale: number,
): Promise<number[]> {
  const { perBurst = 64, size = 200, gapMs = 20, warmup = 2, burstTimeoutMs = 5000 } = opts;
  const out: number[] = [];
  let sentAt: number[] = [];
  let pending = 0;
  let wake: (() => void) | null = null;
  let seq = 0;
  let burstBase = 0;
  const sub = rx.messages$.subscribe((m) => {
    const i = new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(0);
    if (i < burstBase) return; // from an abandoned burst
    const t = sentAt[i - burstBase];
    if (t === undefined) return;
    sentAt[i - burstBase] = Number.NaN;
    if (Number.isNaN(t)) return;
    if (counting) out.push((performance.now() - t) * scale);
    if (--pending === 0) wake?.();
  });
  let counting = false;
  try {
    for (let b = 0; b < warmup + opts.bursts; b++) {
      counting = b >= warmup;
      burstBase = seq;
      sentAt = [];
      pending = perBurst;
      const done = new Promise<void>((r) => (wake = r));
      for (let k = 0; k < perBurst; k++) {
        const msg = new Uint8Array(size);
        new DataView(msg.buffer).setUint32(0, seq++);
        sentAt[k] = performance.now();
        await tx.send(msg);
      }
      await Promise.race([done, sleep(burstTimeoutMs)]);
      wake = null;
      await sleep(gapMs);
    }
  } finally {
    sub.unsubscribe();
  }
  return out;
}

/** One-way latency, sender and receiver in this process (one clock). */
export function oneWayBursts(tx: ByteChannel, rx: ByteChannel, opts: BurstOptions): Promise<number[]> {
  return bursts(tx, rx, opts, 1);
}

/** Round trip / 2 through a remote echo on the same channel (different clocks). */
export function echoBursts(ch: ByteChannel, opts: BurstOptions): Promise<number[]> {
  return bursts(ch, ch, opts, 0.5);
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}
