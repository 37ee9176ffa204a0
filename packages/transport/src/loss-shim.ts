import type { WeriftPeer } from './werift-peer.ts';

/**
 * An in-process impairment shim for tests: it sits between werift's SCTP association and DTLS on
 * the *sending* peer (it replaces `send` on the SCTP association's DTLS bridge), so it sees plain
 * SCTP packets before encryption. A packet is dropped or delayed as a whole, with every chunk in it
 * (the patched werift bundles consecutive small DATA chunks into one packet, like any SCTP stack).
 *
 * By default only packets carrying DATA of the tokens channel's stream are impaired: control-only
 * packets, DCEP, SACKs, FORWARD-TSN and heartbeats pass untouched, so the test isolates the partial
 * reliability of the tokens channel (the receiver's SACKs are what make retransmission and
 * abandonment happen). `scope: 'all'` impairs every outgoing packet. `blackhole(true)` drops
 * everything, which looks to the other side like a peer that vanished (process killed, cable cut)
 * while ICE and DTLS objects stay up.
 *
 * It also counts, per TSN, how often each DATA chunk of the impaired stream went out, so tests can
 * assert "never retransmitted" directly.
 */
export interface LossShimOptions {
  /** Probability that an impaired packet is dropped, in [0, 1]. */
  loss: number;
  /** Probability that an impaired packet (not dropped) is held back `reorderDelayMs`, in [0, 1]. */
  reorder?: number;
  reorderDelayMs?: number;
  /** PRNG seed: the same seed gives the same drop pattern for the same packet sequence. */
  seed?: number;
  /** `tokens` (default): only DATA chunks of the tokens stream; `all`: every outgoing packet. */
  scope?: 'tokens' | 'all';
  /**
   * A TSN once dropped is dropped on every retransmission too: a path that loses a message for
   * longer than any retransmission can bridge. Without it, a loopback fast retransmit can land
   * within a short lifetime and every message arrives anyway.
   */
  sticky?: boolean;
}

export interface LossShimStats {
  /** DATA chunks of the impaired stream handed to the shim (first sends + retransmissions). */
  dataChunks: number;
  /** Distinct TSNs seen on the impaired stream. */
  distinctTsns: number;
  /** Sends of a TSN already seen: SCTP retransmissions. */
  retransmissions: number;
  dropped: number;
  delayed: number;
  /** FORWARD-TSN chunks sent (abandonment announced to the receiver). */
  forwardTsns: number;
  /** Most times any one TSN of the impaired stream was sent. */
  maxSendsPerTsn: number;
  /** TSNs of the impaired stream that got through the shim at least once (not dropped). */
  passedTsns: Set<number>;
}

export interface LossShim {
  readonly stats: LossShimStats;
  /** Drop every outgoing packet while on. */
  blackhole(on: boolean): void;
  /** Drop the next `n` impaired packets for sure (deterministic tail loss), then back to `loss`. */
  dropNext(n: number): void;
  /** Restores werift's original send path. */
  uninstall(): void;
}

const SCTP_COMMON_HEADER = 12;
const CHUNK_DATA = 0;
const CHUNK_FORWARD_TSN = 192;

interface SendBridge {
  send: (data: Buffer) => Promise<void>;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Finds werift's SCTP → DTLS bridge of an open peer (werift internals, test use only). */
function sctpBridge(peer: WeriftPeer): SendBridge {
  const sctp = (peer.pc.sctpTransport as unknown as { sctp?: { transport?: SendBridge } } | undefined)?.sctp;
  const bridge = sctp?.transport;
  if (!bridge || typeof bridge.send !== 'function') {
    throw new Error('loss shim: the peer has no SCTP association yet (install it after the channels open)');
  }
  return bridge;
}

/** The SCTP stream id of the peer's tokens channel. */
function tokensStreamId(peer: WeriftPeer): number {
  const id = peer.tokensStreamId;
  if (id === undefined) throw new Error('loss shim: tokens channel has no stream id yet');
  return id;
}

export function installLossShim(peer: WeriftPeer, options: LossShimOptions): LossShim {
  const { loss, reorder = 0, reorderDelayMs = 15, seed = 1, scope = 'tokens', sticky = false } = options;
  if (!(loss >= 0 && loss <= 1) || !(reorder >= 0 && reorder <= 1)) {
    throw new RangeError('loss shim: probabilities must be in [0, 1]');
  }
  const bridge = sctpBridge(peer);
  const streamId = tokensStreamId(peer);
  const original = bridge.send;
  const rand = prng(seed);
  const sends = new Map<number, number>();
  const doomed = new Set<number>();
  const stats: LossShimStats = {
    dataChunks: 0,
    distinctTsns: 0,
    retransmissions: 0,
    dropped: 0,
    delayed: 0,
    forwardTsns: 0,
    maxSendsPerTsn: 0,
    passedTsns: new Set(),
  };
  let black = false;
  let forced = 0;
  const timers = new Set<NodeJS.Timeout>();

  bridge.send = (packet: Buffer): Promise<void> => {
    if (black) return Promise.resolve();
    let impaired = scope === 'all';
    const tsns: number[] = [];
    // walk the chunks: type(1) flags(1) length(2) value, padded to 4 bytes;
    // DATA value: tsn(4) stream(2) ssn(2) ppid(4) user data
    for (let pos = SCTP_COMMON_HEADER; pos + 4 <= packet.length; ) {
      const type = packet[pos];
      const len = packet.readUInt16BE(pos + 2);
      if (len < 4) break;
      if (type === CHUNK_FORWARD_TSN) stats.forwardTsns++;
      if (type === CHUNK_DATA && len >= 16 && packet.readUInt16BE(pos + 8) === streamId) {
        impaired = true;
        const tsn = packet.readUInt32BE(pos + 4);
        tsns.push(tsn);
        const n = (sends.get(tsn) ?? 0) + 1;
        sends.set(tsn, n);
        stats.dataChunks++;
        if (n > 1) stats.retransmissions++;
        stats.maxSendsPerTsn = Math.max(stats.maxSendsPerTsn, n);
      }
      pos += (len + 3) & ~3;
    }
    stats.distinctTsns = sends.size;
    if (!impaired) return original(packet);
    const isDoomed = sticky && tsns.some((t) => doomed.has(t));
    if (isDoomed || forced > 0 || rand() < loss) {
      if (forced > 0 && !isDoomed) forced--;
      if (sticky) for (const t of tsns) doomed.add(t);
      stats.dropped++;
      return Promise.resolve();
    }
    for (const t of tsns) stats.passedTsns.add(t);
    if (reorder > 0 && rand() < reorder) {
      stats.delayed++;
      const t = setTimeout(() => {
        timers.delete(t);
        if (!black) original(packet).catch(() => undefined);
      }, reorderDelayMs);
      timers.add(t);
      return Promise.resolve();
    }
    return original(packet);
  };

  return {
    stats,
    blackhole(on: boolean) {
      black = on;
    },
    dropNext(n: number) {
      forced = n;
    },
    uninstall() {
      bridge.send = original;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
