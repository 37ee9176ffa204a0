/*
 * Connection setup, tried again when it wedges. A setup that fails under loss does not fail
 * slowly, it stalls for good: werift's DTLS handshake used to key itself on an incomplete
 * transcript when one datagram of a flight was lost (fixed in patches/werift: 16 of 16 setups at
 * 10% loss each way across two namespaces, from 4 of 7), and whatever still wedges (a lost
 * datagram of a kind not covered, an ICE check that never comes back) is not helped by waiting.
 * A fresh peer is. Pure: what one attempt is and what happens between attempts are the caller's.
 */

export interface SetupRetryPolicy {
  /** Attempts in all (1 = no retry). */
  readonly attempts: number;
  /** One attempt's negotiation time; a clean setup across a link takes well under 1 s. */
  readonly attemptTimeoutMs: number;
}

/**
 * The default. A clean setup across a link takes under 0.5 s; at 10% loss each way DTLS's own
 * retransmissions (0.5 s, then 1, 1.5, 2 s … apart) brought setups in within 0.3–2.8 s (16 runs), one
 * other run took 5.6 s: 10 s per attempt leaves a slow setup its time, three attempts a wedge.
 */
export const SETUP_RETRY: SetupRetryPolicy = Object.freeze({ attempts: 3, attemptTimeoutMs: 10_000 });

/** Every attempt failed. `causes` holds each attempt's error, in order. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
  readonly code = 'ERR_SETUP';
  constructor(readonly causes: readonly unknown[]) {
    const last = causes[causes.length - 1];
    super(`connection setup failed after ${causes.length} attempt${causes.length === 1 ? '' : 's'}: ${last instanceof Error ? last.message : String(last)}`);
    Object.setPrototypeOf(this, SetupError.prototype);
  }
}

export function validateSetupRetry(p: SetupRetryPolicy): SetupRetryPolicy {
  if (!Number.isInteger(p.attempts) || p.attempts < 1 || p.attempts > 20) throw new RangeError(`setup attempts must be an integer in 1..20, got ${p.attempts}`);
  if (!(p.attemptTimeoutMs >= 100 && p.attemptTimeoutMs <= 120_000)) throw new RangeError(`setup attempt timeout must be 100..120000 ms, got ${p.attemptTimeoutMs}`);
  return p;
}

/**
 * Runs `attempt(n)` (n from 1) until one resolves. Between attempts `beforeRetry(n, err)` runs
 * (n: the attempt that failed), where the caller resets what the failed attempt used; an error
 * it throws ends setup. `shouldRetry(err)` false ends setup at once (a refusal, not a wedge).
 */
export async function retrySetup<T>(
  policy: SetupRetryPolicy,
  attempt: (n: number) => Promise<T>,
  hooks: { beforeRetry?: (n: number, err: unknown) => void | Promise<void>; shouldRetry?: (err: unknown) => boolean } = {},
): Promise<T> {
  validateSetupRetry(policy);
  const causes: unknown[] = [];
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      causes.push(err);
      if (n >= policy.attempts || hooks.shouldRetry?.(err) === false) throw new SetupError(causes);
      await hooks.beforeRetry?.(n, err);
    }
  }
}
