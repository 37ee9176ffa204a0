import type { ClientLimits } from './messages.ts';

/**
 * Server limits. All of them are on by default and none has an "unlimited" value: 0, negative,
 * non-integer or absurdly large values are refused when the server is created.
 */
export interface SignalingLimits {
  /** Largest message in bytes (ws `maxPayload`: checked from the frame header, before the payload is read). */
  readonly maxMessageBytes: number;
  /** Sustained messages per second per connection (token bucket refill rate). */
  readonly messagesPerSecond: number;
  /** Token bucket size: messages a connection may send back to back. */
  readonly messageBurst: number;
  /** Sessions one worker serves at once; a worker at capacity is not assigned. */
  readonly maxSessionsPerWorker: number;
  /** A connection must send `hello` with a valid token within this many ms. */
  readonly authTimeoutMs: number;
  /** A connection that sends no message for this long is closed (clients send `ping` to stay). */
  readonly idleTimeoutMs: number;
  /** The server sends a ws ping to every connection at this interval. */
  readonly heartbeatIntervalMs: number;
  /**
   * A connection from which nothing (pong or message) arrived for this long is dropped as lost.
   * Loss is detected at most `heartbeatTimeoutMs + heartbeatIntervalMs` after the peer went silent.
   */
  readonly heartbeatTimeoutMs: number;
  /** Tokens whose `exp` lies further than this in the future are refused (tokens must be short-lived). */
  readonly maxTokenTtlMs: number;
  /** Open connections, authenticated or not; more are refused with `SIG_SERVER_FULL`. */
  readonly maxConnections: number;
}

export const DEFAULT_LIMITS: Readonly<SignalingLimits> = Object.freeze({
  maxMessageBytes: 64 * 1024,
  messagesPerSecond: 20,
  messageBurst: 40,
  maxSessionsPerWorker: 1,
  authTimeoutMs: 3_000,
  idleTimeoutMs: 60_000,
  heartbeatIntervalMs: 500,
  heartbeatTimeoutMs: 1_000,
  maxTokenTtlMs: 10 * 60_000,
  maxConnections: 1_024,
});

/** The limits a client is told in `welcome` (what it must respect to stay connected). */
export function clientLimits(l: SignalingLimits): ClientLimits {
  return {
    maxMessageBytes: l.maxMessageBytes,
    messagesPerSecond: l.messagesPerSecond,
    messageBurst: l.messageBurst,
    idleTimeoutMs: l.idleTimeoutMs,
  };
}

/** Largest delay setTimeout honours (2^31 − 1 ms); longer ones would fire at once. */
const MAX_MS = 2_147_483_647;

/** [min, max] for each limit. */
const RANGES: Readonly<Record<keyof SignalingLimits, readonly [number, number]>> = {
  maxMessageBytes: [1024, 16 * 1024 * 1024],
  messagesPerSecond: [1, 100_000],
  messageBurst: [1, 100_000],
  maxSessionsPerWorker: [1, 100_000],
  authTimeoutMs: [1, MAX_MS],
  idleTimeoutMs: [1, MAX_MS],
  heartbeatIntervalMs: [10, MAX_MS],
  heartbeatTimeoutMs: [10, MAX_MS],
  maxTokenTtlMs: [1, MAX_MS],
  maxConnections: [1, 1_000_000],
};

export const LIMIT_NAMES = Object.freeze(Object.keys(RANGES) as Array<keyof SignalingLimits>);

/**
 * Defaults overridden by `overrides`, validated.
 * @throws RangeError for an unknown name, a value outside its range, or a heartbeat timeout that
 *   does not exceed the interval (a live peer would be dropped between two pings).
 */
export function resolveLimits(overrides: Partial<SignalingLimits> = {}): SignalingLimits {
  for (const key of Object.keys(overrides)) {
    if (!Object.hasOwn(RANGES, key)) throw new RangeError(`unknown limit "${key}"`);
  }
  const out = { ...DEFAULT_LIMITS, ...overrides };
  for (const key of LIMIT_NAMES) {
    const v = out[key];
    const [min, max] = RANGES[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`limit ${key} must be an integer in [${min}, ${max}] (no value means unlimited), got ${String(v)}`);
    }
  }
  if (out.heartbeatTimeoutMs <= out.heartbeatIntervalMs) {
    throw new RangeError(
      `heartbeatTimeoutMs (${out.heartbeatTimeoutMs}) must exceed heartbeatIntervalMs (${out.heartbeatIntervalMs})`,
    );
  }
  return Object.freeze(out);
}

/**
 * Token bucket: holds up to `burst` tokens, refills `perSecond` tokens per second, one message
 * spends one token. The clock is passed in (ms), so tests need no timers.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Spends one token if there is one; false when the bucket is empty. */
  take(now: number): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
