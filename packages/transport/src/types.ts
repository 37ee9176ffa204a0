import type { Observable } from 'rxjs';

/**
 * The transport surface the protocol sees. Nothing here depends on werift, so a browser
 * implementation (native RTCPeerConnection) can implement the same interface.
 */

/** Reliability of the `tokens` channel, chosen per session by the offerer. */
export type TokensReliability =
  | { mode: 'reliable' }
  /** Each message is transmitted at most `1 + n` times, then abandoned (forward-TSN). */
  | { mode: 'maxRetransmits'; n: number }
  /** Each message is retransmitted only within `ms` milliseconds of its first send. */
  | { mode: 'maxPacketLifeTime'; ms: number };

/**
 * Connection state of the whole transport.
 * - `new`: created, no signaling yet; `connecting`: ICE/DTLS/SCTP or channel opening in progress;
 * - `open`: both channels are open;
 * - `closed`: closed locally or by the remote peer in an orderly way (SCTP ABORT/SHUTDOWN, channel close);
 * - `failed`: the peer was lost (ICE/DTLS failure, or no traffic/heartbeat within the liveness timeout),
 *   or setup did not complete.
 * `closed` and `failed` are terminal.
 */
export type TransportState = 'new' | 'connecting' | 'open' | 'closed' | 'failed';

/** One data channel as the protocol sees it: bytes in, bytes out. */
export interface ByteChannel {
  readonly label: 'control' | 'tokens';
  /**
   * Queues a copy of `bytes` (the caller may reuse its buffer once the call returns).
   * Resolves once the message is accepted into the channel's shallow queue: immediately while the
   * channel's `bufferedAmount` is at or below the high-water mark, otherwise after it has drained to
   * the low-water mark (`bufferedAmountLowThreshold`). Messages are handed to the channel in call
   * order. Rejects when the transport is not open or the message is larger than `maxMessageSize`.
   */
  send(bytes: Uint8Array): Promise<void>;
  /** Inbound messages (each a fresh buffer owned by the subscriber). Completes when the transport ends. */
  readonly messages$: Observable<Uint8Array>;
  /** Bytes accepted but not yet handed to the network. */
  readonly bufferedAmount: number;
}

export interface PeerTransport {
  /** Reliable, ordered: control messages. */
  readonly control: ByteChannel;
  /** Unordered; reliability per session (`reliability`). */
  readonly tokens: ByteChannel;
  /** Reliability of `tokens` as negotiated (the answerer learns it from the DCEP announcement). */
  readonly reliability: TokensReliability;
  /** Largest message `send` accepts, in bytes. */
  readonly maxMessageSize: number;
  /** Replays the current state to new subscribers, then every change; completes after a terminal state. */
  readonly state$: Observable<TransportState>;
  readonly state: TransportState;
  /** Closes both channels and the peer connection; the state becomes `closed`. Idempotent. */
  close(): Promise<void>;
}

/** A session description as plain JSON, for any signaling channel to carry. */
export interface SessionDescriptionJson {
  type: 'offer' | 'answer';
  sdp: string;
}

/**
 * An ICE candidate as plain JSON (the fields of RTCIceCandidateInit; a browser's `toJSON()` adds
 * `usernameFragment`, which signaling validates and relays). The one declaration: signaling uses it too.
 */
export interface IceCandidateJson {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** Data channel labels and the DCEP channel types used on the wire (RFC 8832 §5.1). */
export const CONTROL_LABEL = 'control';
export const TOKENS_LABEL = 'tokens';
export const DCEP_CHANNEL_TYPE = {
  reliable: 0x00,
  partialReliableRexmit: 0x01,
  partialReliableTimed: 0x02,
  reliableUnordered: 0x80,
  partialReliableRexmitUnordered: 0x81,
  partialReliableTimedUnordered: 0x82,
} as const;

/** RTCDataChannelInit for the tokens channel (unordered) from a reliability mode. */
export function tokensChannelInit(r: TokensReliability): {
  ordered: false;
  maxRetransmits?: number;
  maxPacketLifeTime?: number;
} {
  switch (r.mode) {
    case 'reliable':
      return { ordered: false };
    case 'maxRetransmits':
      return { ordered: false, maxRetransmits: r.n };
    case 'maxPacketLifeTime':
      return { ordered: false, maxPacketLifeTime: r.ms };
  }
}

/** The reliability mode a received channel announces (inverse of `tokensChannelInit`). */
export function reliabilityOf(ch: {
  maxRetransmits: number | null;
  maxPacketLifeTime: number | null;
}): TokensReliability {
  if (ch.maxRetransmits !== null) return { mode: 'maxRetransmits', n: ch.maxRetransmits };
  if (ch.maxPacketLifeTime !== null) return { mode: 'maxPacketLifeTime', ms: ch.maxPacketLifeTime };
  return { mode: 'reliable' };
}

/** Validates a reliability mode (integers in the DCEP 32-bit field). */
export function validateReliability(r: TokensReliability): void {
  const v = r.mode === 'maxRetransmits' ? r.n : r.mode === 'maxPacketLifeTime' ? r.ms : 0;
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new RangeError(`tokens reliability ${r.mode}: need an integer in [0, 2^32), got ${v}`);
  }
}

/**
 * The tokens channel's reliability from its command-line spelling: `reliable`, `rtx:N` (at most N
 * retransmissions) or `life:MS` (retransmit within MS ms). Throws RangeError on anything else.
 */
export function parseTokensReliability(spec: string): TokensReliability {
  if (spec === 'reliable') return { mode: 'reliable' };
  const m = /^(rtx|life):(\d{1,6})$/.exec(spec);
  if (!m) throw new RangeError(`tokens reliability must be reliable, rtx:N or life:MS, got ${JSON.stringify(spec)}`);
  const v = Number(m[2]);
  return m[1] === 'rtx' ? { mode: 'maxRetransmits', n: v } : { mode: 'maxPacketLifeTime', ms: v };
}
