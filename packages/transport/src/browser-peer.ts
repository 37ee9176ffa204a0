import { ReplaySubject } from 'rxjs';
import type { Observable } from 'rxjs';
import { CONTROL_LABEL, TOKENS_LABEL, reliabilityOf, tokensChannelInit, validateReliability } from './types.ts';
import { HEARTBEAT_TEXT, startHeartbeat } from './liveness.ts';
import { QueuedByteChannel } from './queued-channel.ts';
import type { ByteChannel, IceCandidateJson, PeerTransport, SessionDescriptionJson, TokensReliability, TransportState } from './types.ts';

/*
 * The browser implementation of `PeerTransport`, over the browser's own RTCPeerConnection. It
 * speaks exactly what WeriftPeer speaks (werift-peer.ts): the same two channel labels, `control`
 * reliable and ordered, `tokens` unordered with the session's reliability, the same heartbeat
 * ("hb" every 250 ms, peer lost after 1500 ms of silence) and goodbye ("bye") as DCEP *string*
 * messages, while application messages are always binary. No werift, no Node API: this file runs
 * in a page.
 *
 * Signaling is non-trickle: the description is returned once ICE gathering has completed (or
 * after `gatherTimeoutMs`), so it already holds every candidate and `localCandidates$` only
 * announces the end of gathering. That keeps the signaling messages to two (rate-limited server).
 */

export interface BrowserHeartbeatOptions {
  /** A heartbeat is sent on the control channel this often (ms). */
  intervalMs: number;
  /** With nothing received on either channel for this long (ms), the peer counts as lost. */
  timeoutMs: number;
}

export interface BrowserPeerOptions {
  role: 'offerer' | 'answerer';
  /** Offerer only: reliability of the tokens channel. The answerer learns it from DCEP. */
  tokens?: TokensReliability;
  /** STUN/TURN servers; default none (loopback needs none). */
  iceServers?: RTCIceServer[];
  /**
   * Default true: offer and accept only UDP 127.x candidates, as the werift cloud does (it answers
   * nothing else). Chromium gathers a loopback candidate only when started with
   * `--allow-loopback-in-peer-connection` and once the page may enumerate interfaces
   * (`allowHostCandidates()`). Set false for real networks.
   */
  loopbackOnly?: boolean;
  /** Liveness heartbeat on the control channel; `false` disables it. Default 250 / 1500 ms. */
  heartbeat?: BrowserHeartbeatOptions | false;
  /** `send` resolves at once while the channel's bufferedAmount ≤ this (bytes). Default 256 KiB. */
  highWaterMark?: number;
  /** A waiting `send` resumes when bufferedAmount drains to this (bufferedAmountLowThreshold). Default 64 KiB. */
  lowWaterMark?: number;
  /** Both channels must be open this long (ms) after the offer/answer starts, else `failed`. Default 10 s. */
  openTimeoutMs?: number;
  /** Longest wait for ICE gathering before the description goes out with what it has (ms). Default 3 s. */
  gatherTimeoutMs?: number;
  /** The RTCPeerConnection constructor (default: the global one). */
  peerConnection?: typeof RTCPeerConnection;
}

/** Stable codes of the errors this module throws. */
export const BrowserTransportCode = {
  /** No RTCPeerConnection in this environment. */
  NoWebRtc: 'ERR_NO_WEBRTC',
  /** The method does not fit the peer's role or state. */
  BadState: 'ERR_BAD_STATE',
  /** Loopback-only and the browser gathered no 127.x UDP candidate (see `loopbackOnly`). */
  NoLoopbackCandidate: 'ERR_NO_LOOPBACK_CANDIDATE',
  /** `send` on a transport that is not open, an empty message, or one over maxMessageSize. */
  Send: 'ERR_SEND',
  /** The transport closed or failed before it opened. */
  NotOpened: 'ERR_NOT_OPENED',
} as const;
export type BrowserTransportCode = (typeof BrowserTransportCode)[keyof typeof BrowserTransportCode];

export class BrowserTransportError extends Error {
  override readonly name = 'BrowserTransportError';
  constructor(
    readonly code: BrowserTransportCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    Object.setPrototypeOf(this, BrowserTransportError.prototype);
  }
}

export const BROWSER_DEFAULT_HEARTBEAT: BrowserHeartbeatOptions = { intervalMs: 250, timeoutMs: 1500 };
const DEFAULT_HIGH_WATER = 256 * 1024;
const DEFAULT_LOW_WATER = 64 * 1024;
const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
const DEFAULT_GATHER_TIMEOUT_MS = 3_000;
/** What werift advertises (and Chromium reports against it); the protocol never sends more. */
const MAX_MESSAGE_SIZE = 65536;
const BYE_TEXT = 'bye';
const CLOSED_LOCALLY = 'closed locally';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True for an IPv4 loopback address (127.0.0.0/8). */
function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * True for a UDP candidate on 127.x (`candidate:...` or `a=candidate:...`). Chromium also offers
 * TCP candidates; werift speaks UDP only.
 */
export function isLoopbackUdpCandidate(candidate: string): boolean {
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
  const f = candidate.trim().replace(/^a=/, '').split(/\s+/);
  return f.length >= 8 && (f[2] ?? '').toLowerCase() === 'udp' && isLoopback(f[4] ?? '');
}

/** Keeps only the loopback UDP `a=candidate` lines of an SDP. */
export function keepLoopbackCandidates(sdp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  return sdp
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('a=candidate:') || isLoopbackUdpCandidate(line))
    .join(eol);
}

/**
 * Chromium hides the page's host addresses (and gathers no loopback candidate at all) until the
 * page may enumerate interfaces, which it may once a getUserMedia request was granted. This asks
 * for (and at once stops) a microphone stream for that reason only; nothing is recorded. Returns
 * false when the user or the browser refuses.
 */
export async function allowHostCandidates(): Promise<boolean> {
  const media = globalThis.navigator?.mediaDevices;
  if (!media?.getUserMedia) return false;
  try {
    const stream = await media.getUserMedia({ audio: true });
    for (const t of stream.getTracks()) t.stop();
    return true;
  } catch {
    return false;
  }
}

/** A browser data channel as a `ByteChannel` (the browser-specific parts of `QueuedByteChannel`). */
class BrowserByteChannel extends QueuedByteChannel<Uint8Array<ArrayBuffer>> {
  constructor(
    label: 'control' | 'tokens',
    readonly dc: RTCDataChannel,
    owner: BrowserPeer,
    high: number,
    low: number,
  ) {
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = low;
    super(
      label,
      {
        get bufferedAmount() {
          return dc.bufferedAmount;
        },
        // RTCDataChannel.send copies synchronously, but only from an ArrayBuffer-backed view; a
        // queued send must not see the caller reuse its buffer, so it gets its own copy.
        own: (bytes, now) => (now && bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes)),
        send: (data) => dc.send(data),
        onBufferedAmountLow: (listener) => {
          dc.addEventListener('bufferedamountlow', listener);
          return () => dc.removeEventListener('bufferedamountlow', listener);
        },
        state$: owner.state$,
        sendError: (size) => owner.sendError(size),
        endedError: (state) => new BrowserTransportError(BrowserTransportCode.Send, `transport ${state}`),
      },
      high,
      low,
    );
  }
}

/** A browser peer with a `control` and a `tokens` channel; the counterpart of WeriftPeer. */
export class BrowserPeer implements PeerTransport {
  /** The browser connection, for diagnostics (getStats); the protocol must not use it. */
  readonly pc: RTCPeerConnection;
  readonly role: 'offerer' | 'answerer';
  readonly state$: Observable<TransportState>;
  /** Non-trickle: emits only `null` once gathering is over (the SDP holds the candidates). */
  readonly localCandidates$: Observable<IceCandidateJson | null>;
  /** Why the state became `failed` or `closed`, once it has. */
  failureReason: string | null = null;

  private _state: TransportState = 'new';
  private readonly stateSubject = new ReplaySubject<TransportState>(1);
  private readonly candidates = new ReplaySubject<IceCandidateJson | null>();
  private readonly opts: {
    loopbackOnly: boolean;
    heartbeat: BrowserHeartbeatOptions | false;
    highWaterMark: number;
    lowWaterMark: number;
    openTimeoutMs: number;
    gatherTimeoutMs: number;
  };
  private _reliability: TokensReliability;
  private _control: BrowserByteChannel | null = null;
  private _tokens: BrowserByteChannel | null = null;
  private lastRx = 0;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private openTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(options: BrowserPeerOptions) {
    this.role = options.role;
    if (options.role === 'answerer' && options.tokens) {
      throw new BrowserTransportError(BrowserTransportCode.BadState, 'the answerer learns the tokens reliability from the offer; do not pass `tokens`');
    }
    this._reliability = options.tokens ?? { mode: 'reliable' };
    validateReliability(this._reliability);
    this.opts = {
      loopbackOnly: options.loopbackOnly ?? true,
      heartbeat: options.heartbeat === undefined ? BROWSER_DEFAULT_HEARTBEAT : options.heartbeat,
      highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER,
      lowWaterMark: options.lowWaterMark ?? DEFAULT_LOW_WATER,
      openTimeoutMs: options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
      gatherTimeoutMs: options.gatherTimeoutMs ?? DEFAULT_GATHER_TIMEOUT_MS,
    };
    if (!(this.opts.lowWaterMark <= this.opts.highWaterMark)) throw new RangeError('lowWaterMark must be ≤ highWaterMark');
    const Ctor = options.peerConnection ?? (globalThis as { RTCPeerConnection?: typeof RTCPeerConnection }).RTCPeerConnection;
    if (!Ctor) throw new BrowserTransportError(BrowserTransportCode.NoWebRtc, 'this environment has no RTCPeerConnection');
    this.pc = new Ctor({ iceServers: options.iceServers ?? [] });
    this.stateSubject.next('new');
    this.state$ = this.stateSubject.asObservable();
    this.localCandidates$ = this.candidates.asObservable();

    this.pc.addEventListener('connectionstatechange', () => {
      const s = this.pc.connectionState;
      if (s === 'failed') this.terminate('failed', 'ICE/DTLS connection failed');
      else if (s === 'closed') this.terminate('closed', 'peer connection closed');
    });
    if (this.role === 'answerer') this.pc.addEventListener('datachannel', (ev) => this.adopt(ev.channel));
  }

  get state(): TransportState {
    return this._state;
  }

  get reliability(): TokensReliability {
    return this._reliability;
  }

  /** The negotiated SCTP limit (Chromium reports the remote's max-message-size), at most 64 KiB. */
  get maxMessageSize(): number {
    const m = this.pc.sctp?.maxMessageSize;
    return m && Number.isFinite(m) && m > 0 ? Math.min(m, MAX_MESSAGE_SIZE) : MAX_MESSAGE_SIZE;
  }

  get control(): ByteChannel {
    if (!this._control) throw new BrowserTransportError(BrowserTransportCode.BadState, 'control channel not created yet (signal first)');
    return this._control;
  }

  get tokens(): ByteChannel {
    if (!this._tokens) throw new BrowserTransportError(BrowserTransportCode.BadState, 'tokens channel not created yet (signal first)');
    return this._tokens;
  }

  /** What the browser says about the tokens channel (on the answerer: the DCEP announcement). */
  get tokensChannelInfo(): { ordered: boolean; maxRetransmits: number | null; maxPacketLifeTime: number | null } | null {
    const dc = this._tokens?.dc;
    return dc ? { ordered: dc.ordered, maxRetransmits: dc.maxRetransmits, maxPacketLifeTime: dc.maxPacketLifeTime } : null;
  }

  /** Offerer: creates both channels and returns the offer (with every gathered candidate). */
  async createOffer(): Promise<SessionDescriptionJson> {
    if (this.role !== 'offerer') throw new BrowserTransportError(BrowserTransportCode.BadState, 'createOffer: not the offerer');
    if (this.state !== 'new') throw new BrowserTransportError(BrowserTransportCode.BadState, `createOffer: state is ${this.state}`);
    this.begin();
    this.adopt(this.pc.createDataChannel(CONTROL_LABEL, { ordered: true }));
    this.adopt(this.pc.createDataChannel(TOKENS_LABEL, tokensChannelInit(this._reliability)));
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.gatheredDescription('offer');
  }

  /** Answerer: applies the offer and returns the answer (with every gathered candidate). */
  async acceptOffer(offer: SessionDescriptionJson): Promise<SessionDescriptionJson> {
    if (this.role !== 'answerer') throw new BrowserTransportError(BrowserTransportCode.BadState, 'acceptOffer: not the answerer');
    if (offer.type !== 'offer') throw new BrowserTransportError(BrowserTransportCode.BadState, `acceptOffer: got ${offer.type}`);
    if (this.state !== 'new') throw new BrowserTransportError(BrowserTransportCode.BadState, `acceptOffer: state is ${this.state}`);
    this.begin();
    await this.pc.setRemoteDescription({ type: 'offer', sdp: this.filterSdp(offer.sdp) });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    return this.gatheredDescription('answer');
  }

  /** Offerer: applies the answer. */
  async acceptAnswer(answer: SessionDescriptionJson): Promise<void> {
    if (this.role !== 'offerer') throw new BrowserTransportError(BrowserTransportCode.BadState, 'acceptAnswer: not the offerer');
    if (answer.type !== 'answer') throw new BrowserTransportError(BrowserTransportCode.BadState, `acceptAnswer: got ${answer.type}`);
    await this.pc.setRemoteDescription({ type: 'answer', sdp: this.filterSdp(answer.sdp) });
  }

  /** Adds a trickled remote candidate (non-loopback ones are ignored when loopbackOnly). */
  async addRemoteCandidate(c: IceCandidateJson | null): Promise<void> {
    if (c === null || c.candidate === '') return;
    if (this.opts.loopbackOnly && !isLoopbackUdpCandidate(c.candidate)) return;
    await this.pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null });
  }

  /** Resolves when both channels are open; rejects if the transport closes or fails first. */
  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.state$.subscribe((st) => {
        if (st === 'open') resolve();
        else if (st === 'closed' || st === 'failed') reject(new BrowserTransportError(BrowserTransportCode.NotOpened, `transport ${st}: ${this.failureReason ?? ''}`));
      });
    });
  }

  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'failed') {
      this.pc.close();
      return;
    }
    const wasOpen = this.state === 'open';
    this.terminate('closed', CLOSED_LOCALLY);
    if (wasOpen && this._control) {
      try {
        // werift does not act on SCTP ABORT reliably: tell the peer first (sent synchronously,
        // so it also leaves when the page is unloading)
        this._control.dc.send(BYE_TEXT);
        for (let i = 0; i < 10 && this._control.dc.bufferedAmount > 0; i++) await sleep(5);
        await sleep(5);
      } catch {
        // closing anyway
      }
    }
    this.pc.close();
  }

  /** @internal The error a `send` of `size` bytes would meet now, if any. */
  sendError(size: number): Error | null {
    if (this.state !== 'open') return new BrowserTransportError(BrowserTransportCode.Send, `transport is ${this.state}`);
    if (size === 0) return new BrowserTransportError(BrowserTransportCode.Send, 'empty messages are not supported');
    if (size > this.maxMessageSize) return new BrowserTransportError(BrowserTransportCode.Send, `message of ${size} bytes exceeds max-message-size ${this.maxMessageSize}`);
    return null;
  }

  // ---- internals ----

  private filterSdp(sdp: string): string {
    return this.opts.loopbackOnly ? keepLoopbackCandidates(sdp) : sdp;
  }

  /** The local description once gathering is over (or timed out), filtered. */
  private async gatheredDescription(type: 'offer' | 'answer'): Promise<SessionDescriptionJson> {
    const pc = this.pc;
    if (pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(finish, this.opts.gatherTimeoutMs);
        function finish() {
          clearTimeout(timer);
          pc.removeEventListener('icegatheringstatechange', onChange);
          resolve();
        }
        function onChange() {
          if (pc.iceGatheringState === 'complete') finish();
        }
        pc.addEventListener('icegatheringstatechange', onChange);
      });
    }
    this.candidates.next(null);
    this.candidates.complete();
    const d = pc.localDescription;
    if (!d) throw new BrowserTransportError(BrowserTransportCode.BadState, 'no local description');
    const sdp = this.filterSdp(d.sdp);
    if (this.opts.loopbackOnly && !/^a=candidate:/m.test(sdp)) {
      const err = new BrowserTransportError(
        BrowserTransportCode.NoLoopbackCandidate,
        'the browser gathered no 127.x UDP candidate: start Chromium with --allow-loopback-in-peer-connection and allow the page to list interfaces (allowHostCandidates)',
      );
      this.terminate('failed', err.message);
      throw err;
    }
    return { type, sdp };
  }

  private begin(): void {
    this.setState('connecting');
    this.openTimer = setTimeout(() => {
      if (this.state === 'connecting') this.terminate('failed', `channels not open within ${this.opts.openTimeoutMs} ms`);
    }, this.opts.openTimeoutMs);
  }

  private adopt(dc: RTCDataChannel): void {
    const label = dc.label;
    if (label !== CONTROL_LABEL && label !== TOKENS_LABEL) return;
    const ch = new BrowserByteChannel(label, dc, this, this.opts.highWaterMark, this.opts.lowWaterMark);
    if (label === CONTROL_LABEL) this._control = ch;
    else {
      this._tokens = ch;
      if (this.role === 'answerer') this._reliability = reliabilityOf(dc);
    }
    dc.addEventListener('message', (ev: MessageEvent<unknown>) => {
      this.lastRx = performance.now();
      const data = ev.data;
      if (typeof data === 'string') {
        // transport signals: heartbeat (liveness only) or an orderly goodbye
        if (data === BYE_TEXT && label === CONTROL_LABEL) this.terminate('closed', 'closed by the remote peer');
        return;
      }
      if (data instanceof ArrayBuffer) ch.deliver(new Uint8Array(data));
    });
    dc.addEventListener('open', () => this.maybeOpen());
    dc.addEventListener('close', () => {
      if (this.state !== 'closed' && this.state !== 'failed') this.terminate('closed', `${label} channel closed by the remote peer`);
    });
    if (dc.readyState === 'open') this.maybeOpen();
  }

  private maybeOpen(): void {
    if (this.state !== 'connecting') return;
    if (this._control?.dc.readyState !== 'open' || this._tokens?.dc.readyState !== 'open') return;
    if (this.openTimer) clearTimeout(this.openTimer);
    this.openTimer = null;
    this.lastRx = performance.now();
    this.startHeartbeat();
    this.setState('open');
  }

  private startHeartbeat(): void {
    const hb = this.opts.heartbeat;
    if (!hb) return;
    this.heartbeatTimer = startHeartbeat(hb, {
      lastRx: () => this.lastRx,
      setLastRx: (t) => (this.lastRx = t),
      isOpen: () => this.state === 'open',
      ping: () => this._control?.dc.send(HEARTBEAT_TEXT),
      lost: (reason) => this.terminate('failed', reason),
    });
  }

  private setState(s: TransportState): void {
    this._state = s;
    this.stateSubject.next(s);
  }

  private terminate(state: 'closed' | 'failed', reason: string): void {
    if (this.state === 'closed' || this.state === 'failed') return;
    this.failureReason = reason;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.openTimer) clearTimeout(this.openTimer);
    this.heartbeatTimer = null;
    this.openTimer = null;
    this.setState(state);
    this.stateSubject.complete();
    this._control?.complete();
    this._tokens?.complete();
    this.candidates.complete();
    // the local close() path sends its goodbye first and closes the connection itself
    if (reason !== CLOSED_LOCALLY) this.pc.close();
  }
}
