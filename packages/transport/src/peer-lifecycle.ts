import { ReplaySubject } from 'rxjs';
import type { Observable } from 'rxjs';
import { CONTROL_LABEL, TOKENS_LABEL, reliabilityOf, tokensChannelInit, validateReliability } from './types.ts';
import { HEARTBEAT_TEXT, startHeartbeat } from './liveness.ts';
import type { HeartbeatTiming } from './liveness.ts';
import { QueuedByteChannel } from './queued-channel.ts';
import type { ChannelAdapter } from './queued-channel.ts';
import type {
  ByteChannel,
  IceCandidateJson,
  PeerTransport,
  SessionDescriptionJson,
  TokensReliability,
  TransportState,
} from './types.ts';

/*
 * The lifecycle WeriftPeer (Node) and BrowserPeer (page) share, so that both speak the same wire
 * and fail the same way: role and state checks of the offer/answer, the two channels and when the
 * transport counts as open, the open timeout, heartbeat and liveness, the goodbye on close, and
 * the one terminal transition. A subclass supplies only its RTCPeerConnection's API (abstract
 * members below). No werift and no Node API here, so the browser entry may import it.
 */

export const DEFAULT_HEARTBEAT: HeartbeatTiming = { intervalMs: 250, timeoutMs: 1500 };
const DEFAULT_HIGH_WATER = 256 * 1024;
const DEFAULT_LOW_WATER = 64 * 1024;
const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
/** What werift advertises (and Chromium reports against it); the protocol never sends more. */
export const MAX_MESSAGE_SIZE = 65536;
/**
 * Sent (as a string) on the control channel by `close()`: werift's `close()` does not get an SCTP
 * ABORT to the other side reliably, so the remote learns of an orderly close from this.
 * Heartbeats and the goodbye travel as DCEP *string* messages (PPID 51); application messages
 * are always binary (PPID 53), so the two never mix and a string never reaches `messages$`.
 */
export const BYE_TEXT = 'bye';
/** The reason `close()` gives; the one terminal path that closes the connection itself. */
const CLOSED_LOCALLY = 'closed locally';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface PeerLifecycleOptions {
  role: 'offerer' | 'answerer';
  /** Offerer only: reliability of the tokens channel. The answerer learns it from DCEP. */
  tokens?: TokensReliability;
  /** Default true: offer, accept and pair only 127.x candidates. */
  loopbackOnly?: boolean;
  /** Liveness heartbeat on the control channel; `false` disables it. Default 250 / 1500 ms. */
  heartbeat?: HeartbeatTiming | false;
  /** `send` resolves at once while the channel's bufferedAmount ≤ this (bytes). Default 256 KiB. */
  highWaterMark?: number;
  /** A waiting `send` resumes when bufferedAmount drains to this (bufferedAmountLowThreshold). Default 64 KiB. */
  lowWaterMark?: number;
  /** Both channels must be open this long (ms) after the offer/answer starts, else `failed`. Default 10 s. */
  openTimeoutMs?: number;
}

/**
 * What kind of error a peer throws, so each peer keeps its own error types: `state` (role or
 * state does not fit the call), `send` (transport not open or ended), `size` (empty or too large
 * a message), `notOpened` (`opened()` saw the transport end first).
 */
export type PeerErrorKind = 'state' | 'send' | 'size' | 'notOpened';
export type PeerErrors = (kind: PeerErrorKind, message: string) => Error;

/** The parts of a data channel the lifecycle uses; werift's and the browser's both fit. */
export interface LifecycleChannel {
  readonly label: string;
  readonly readyState: string;
  readonly ordered: boolean;
  readonly maxRetransmits: number | null;
  readonly maxPacketLifeTime: number | null;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(text: string): void;
}

/** What a subclass reports from a channel's own events. */
export interface ChannelEvents {
  /** A message: text, or binary as bytes the subscribers may keep; `undefined` for anything else. */
  message(data: string | Uint8Array | undefined): void;
  open(): void;
  closed(): void;
}

/** The channel-specific parts of a `ChannelAdapter`; the lifecycle adds the rest. */
export type ChannelIo<P extends Uint8Array> = Pick<ChannelAdapter<P>, 'own' | 'send' | 'onBufferedAmountLow'>;

interface Slot<DC, P extends Uint8Array> {
  readonly dc: DC;
  readonly ch: QueuedByteChannel<P>;
}

/** A peer with a `control` and a `tokens` channel over some RTCPeerConnection. */
export abstract class PeerLifecycle<DC extends LifecycleChannel, P extends Uint8Array = Uint8Array> implements PeerTransport {
  readonly role: 'offerer' | 'answerer';
  readonly state$: Observable<TransportState>;
  /** Local candidates (loopback-filtered when loopbackOnly); `null` ends gathering. */
  readonly localCandidates$: Observable<IceCandidateJson | null>;
  /** Why the state became `failed` or `closed`, once it has. */
  failureReason: string | null = null;
  abstract readonly maxMessageSize: number;

  protected readonly loopbackOnly: boolean;
  protected readonly candidates = new ReplaySubject<IceCandidateJson | null>();
  private _state: TransportState = 'new';
  /** Replays the latest state (and completion) to late subscribers. */
  private readonly stateSubject = new ReplaySubject<TransportState>(1);
  private readonly heartbeat: HeartbeatTiming | false;
  private readonly highWaterMark: number;
  private readonly lowWaterMark: number;
  private readonly openTimeoutMs: number;
  private _reliability: TokensReliability;
  private _control: Slot<DC, P> | null = null;
  private _tokens: Slot<DC, P> | null = null;
  private lastRx = 0;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private openTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly disposers: Array<() => void> = [];

  constructor(
    options: PeerLifecycleOptions,
    private readonly errors: PeerErrors,
  ) {
    this.role = options.role;
    if (options.role === 'answerer' && options.tokens) {
      throw errors('state', 'the answerer learns the tokens reliability from the offer; do not pass `tokens`');
    }
    this._reliability = options.tokens ?? { mode: 'reliable' };
    validateReliability(this._reliability);
    this.loopbackOnly = options.loopbackOnly ?? true;
    this.heartbeat = options.heartbeat === undefined ? DEFAULT_HEARTBEAT : options.heartbeat;
    this.highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER;
    this.lowWaterMark = options.lowWaterMark ?? DEFAULT_LOW_WATER;
    this.openTimeoutMs = options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    if (!(this.lowWaterMark <= this.highWaterMark)) throw new RangeError('lowWaterMark must be ≤ highWaterMark');
    this.stateSubject.next('new');
    this.state$ = this.stateSubject.asObservable();
    this.localCandidates$ = this.candidates.asObservable();
  }

  // ---- what a subclass supplies ----

  /** Creates a data channel on the connection (offerer). */
  protected abstract createChannel(label: string, init: { ordered: boolean; maxRetransmits?: number; maxPacketLifeTime?: number }): DC;
  /** Reports `dc`'s events to `on`. */
  protected abstract listen(dc: DC, on: ChannelEvents): void;
  /** Sets up `dc` for sending and returns how to send on it. */
  protected abstract channelIo(dc: DC): ChannelIo<P>;
  /** Creates the local offer or answer, sets it, and returns it as it goes to the remote. */
  protected abstract describeLocal(type: 'offer' | 'answer'): Promise<SessionDescriptionJson>;
  /** Applies the remote offer or answer (`sdp` already filtered). */
  protected abstract applyRemote(type: 'offer' | 'answer', sdp: string): Promise<void>;
  /** `sdp` with only the candidate lines this peer accepts on a loopback-only link. */
  protected abstract keepLoopback(sdp: string): string;
  /** Closes the RTCPeerConnection. */
  protected abstract closeConnection(): void | Promise<void>;
  /** Called once both channels are open, before the heartbeat starts. */
  protected channelsOpened(): void {}

  // ---- PeerTransport ----

  get state(): TransportState {
    return this._state;
  }

  get reliability(): TokensReliability {
    return this._reliability;
  }

  get control(): ByteChannel {
    if (!this._control) throw this.errors('state', 'control channel not created yet (signal first)');
    return this._control.ch;
  }

  get tokens(): ByteChannel {
    if (!this._tokens) throw this.errors('state', 'tokens channel not created yet (signal first)');
    return this._tokens.ch;
  }

  /** What the local channel object says about the tokens channel (on the answerer: the DCEP announcement). */
  get tokensChannelInfo(): { ordered: boolean; maxRetransmits: number | null; maxPacketLifeTime: number | null } | null {
    const dc = this.tokensChannel;
    return dc ? { ordered: dc.ordered, maxRetransmits: dc.maxRetransmits, maxPacketLifeTime: dc.maxPacketLifeTime } : null;
  }

  /** Offerer: creates both channels and returns the offer (with candidates). */
  async createOffer(): Promise<SessionDescriptionJson> {
    if (this.role !== 'offerer') throw this.errors('state', 'createOffer: not the offerer');
    if (this.state !== 'new') throw this.errors('state', `createOffer: state is ${this.state}`);
    this.begin();
    this.adopt(this.createChannel(CONTROL_LABEL, { ordered: true }));
    this.adopt(this.createChannel(TOKENS_LABEL, tokensChannelInit(this._reliability)));
    return this.describeLocal('offer');
  }

  /** Answerer: applies the offer and returns the answer (with candidates). */
  async acceptOffer(offer: SessionDescriptionJson): Promise<SessionDescriptionJson> {
    if (this.role !== 'answerer') throw this.errors('state', 'acceptOffer: not the answerer');
    if (offer.type !== 'offer') throw this.errors('state', `acceptOffer: got ${offer.type}`);
    if (this.state !== 'new') throw this.errors('state', `acceptOffer: state is ${this.state}`);
    this.begin();
    await this.applyRemote('offer', this.filterSdp(offer.sdp));
    return this.describeLocal('answer');
  }

  /** Offerer: applies the answer. */
  async acceptAnswer(answer: SessionDescriptionJson): Promise<void> {
    if (this.role !== 'offerer') throw this.errors('state', 'acceptAnswer: not the offerer');
    if (answer.type !== 'answer') throw this.errors('state', `acceptAnswer: got ${answer.type}`);
    await this.applyRemote('answer', this.filterSdp(answer.sdp));
  }

  /** Resolves when both channels are open; rejects if the transport closes or fails first. */
  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      // the subscription completes with the state; nothing to clean up
      this.state$.subscribe((st) => {
        if (st === 'open') resolve();
        else if (st === 'closed' || st === 'failed') reject(this.errors('notOpened', `transport ${st}: ${this.failureReason ?? ''}`));
      });
    });
  }

  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'failed') {
      await this.closeConnection();
      return;
    }
    const wasOpen = this.state === 'open';
    this.terminate('closed', CLOSED_LOCALLY);
    const control = this._control?.dc;
    if (wasOpen && control) {
      try {
        // sent synchronously, so it also leaves when a page is unloading; then a moment for it
        // to leave before the DTLS transport goes away
        control.send(BYE_TEXT);
        for (let i = 0; i < 10 && control.bufferedAmount > 0; i++) await sleep(5);
        await sleep(5);
      } catch {
        // closing anyway
      }
    }
    await this.closeConnection();
  }

  /** @internal The error a `send` of `size` bytes would meet now, if any. */
  sendError(size: number): Error | null {
    if (this.state !== 'open') return this.errors('send', `transport is ${this.state}`);
    if (size === 0) return this.errors('size', 'empty messages are not supported');
    if (size > this.maxMessageSize) return this.errors('size', `message of ${size} bytes exceeds max-message-size ${this.maxMessageSize}`);
    return null;
  }

  // ---- for subclasses ----

  /** The tokens data channel, once created or announced. */
  protected get tokensChannel(): DC | null {
    return this._tokens?.dc ?? null;
  }

  /** Runs `dispose` when the transport ends. */
  protected onEnd(dispose: () => void): void {
    this.disposers.push(dispose);
  }

  /** Something arrived from the peer: it is alive. */
  protected heard(): void {
    this.lastRx = performance.now();
  }

  protected filterSdp(sdp: string): string {
    return this.loopbackOnly ? this.keepLoopback(sdp) : sdp;
  }

  /** The RTCPeerConnection's connectionState changed. */
  protected connectionStateChanged(s: string): void {
    if (s === 'failed') this.terminate('failed', 'ICE/DTLS connection failed');
    else if (s === 'closed') this.terminate('closed', 'peer connection closed');
  }

  /** Takes a channel the connection created or announced; ignores labels other than ours. */
  protected adopt(dc: DC): void {
    const label = dc.label;
    if (label !== CONTROL_LABEL && label !== TOKENS_LABEL) return;
    dc.bufferedAmountLowThreshold = this.lowWaterMark;
    const io = this.channelIo(dc);
    const adapter: ChannelAdapter<P> = {
      get bufferedAmount() {
        return dc.bufferedAmount;
      },
      own: io.own,
      send: io.send,
      onBufferedAmountLow: io.onBufferedAmountLow,
      state$: this.state$,
      sendError: (size) => this.sendError(size),
      endedError: (state) => this.errors('send', `transport ${state}`),
    };
    const slot: Slot<DC, P> = { dc, ch: new QueuedByteChannel(label, adapter, this.highWaterMark, this.lowWaterMark) };
    if (label === CONTROL_LABEL) this._control = slot;
    else {
      this._tokens = slot;
      if (this.role === 'answerer') this._reliability = reliabilityOf(dc);
    }
    this.listen(dc, {
      message: (data) => {
        this.heard();
        if (typeof data === 'string') {
          // transport signals: heartbeat (liveness only) or an orderly goodbye
          if (data === BYE_TEXT && label === CONTROL_LABEL) this.terminate('closed', 'closed by the remote peer');
          return;
        }
        if (data) slot.ch.deliver(data);
      },
      open: () => this.maybeOpen(),
      closed: () => this.terminate('closed', `${label} channel closed by the remote peer`),
    });
    if (dc.readyState === 'open') this.maybeOpen();
  }

  /** Ends the transport in a terminal state (once); every later call is a no-op. */
  protected terminate(state: 'closed' | 'failed', reason: string): void {
    if (this.state === 'closed' || this.state === 'failed') return;
    this.failureReason = reason;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.openTimer) clearTimeout(this.openTimer);
    this.heartbeatTimer = null;
    this.openTimer = null;
    this.setState(state);
    this.stateSubject.complete();
    this._control?.ch.complete();
    this._tokens?.ch.complete();
    this.candidates.complete();
    for (const d of this.disposers.splice(0)) d();
    // the local close() path sends its goodbye first and closes the connection itself
    if (reason !== CLOSED_LOCALLY) void this.closeConnection();
  }

  // ---- internals ----

  private begin(): void {
    this.setState('connecting');
    this.openTimer = setTimeout(() => {
      if (this.state === 'connecting') this.terminate('failed', `channels not open within ${this.openTimeoutMs} ms`);
    }, this.openTimeoutMs);
  }

  private maybeOpen(): void {
    if (this.state !== 'connecting') return;
    if (this._control?.dc.readyState !== 'open' || this._tokens?.dc.readyState !== 'open') return;
    if (this.openTimer) clearTimeout(this.openTimer);
    this.openTimer = null;
    this.heard();
    this.channelsOpened();
    this.startHeartbeat();
    this.setState('open');
  }

  private startHeartbeat(): void {
    const hb = this.heartbeat;
    if (!hb) return;
    const timer = startHeartbeat(hb, {
      lastRx: () => this.lastRx,
      setLastRx: (t) => (this.lastRx = t),
      isOpen: () => this.state === 'open',
      ping: () => this._control?.dc.send(HEARTBEAT_TEXT),
      lost: (reason) => this.terminate('failed', reason),
    });
    // Node: the heartbeat alone must not keep a process alive (a page's timer is a number)
    (timer as { unref?: () => void }).unref?.();
    this.heartbeatTimer = timer;
  }

  private setState(s: TransportState): void {
    this._state = s;
    this.stateSubject.next(s);
  }
}
