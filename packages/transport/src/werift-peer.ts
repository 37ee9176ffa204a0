import { ReplaySubject } from 'rxjs';
import type { Observable } from 'rxjs';
import { RTCPeerConnection } from 'werift';
import type { RTCDataChannel, RTCIceCandidate, RTCIceServer, PeerConfig } from 'werift';
import {
  CONTROL_LABEL,
  TOKENS_LABEL,
  reliabilityOf,
  tokensChannelInit,
  validateReliability,
} from './types.ts';
import { HEARTBEAT_TEXT, startHeartbeat } from './liveness.ts';
import { QueuedByteChannel } from './queued-channel.ts';
import type {
  ByteChannel,
  IceCandidateJson,
  PeerTransport,
  SessionDescriptionJson,
  TokensReliability,
  TransportState,
} from './types.ts';

/**
 * The werift (Node) implementation of `PeerTransport`.
 *
 * Signaling is left to the caller: the offer/answer helpers produce and consume plain JSON
 * (`SessionDescriptionJson`, `IceCandidateJson`), so any channel (the ws signaling server, an
 * in-process function call, IPC) can carry them. werift gathers before `setLocalDescription`
 * resolves, so the SDP already holds every candidate; `localCandidates$` offers trickle as well.
 */

export interface HeartbeatOptions {
  /** A heartbeat is sent on the control channel this often (ms). */
  intervalMs: number;
  /** With nothing received on either channel for this long (ms), the peer counts as lost. */
  timeoutMs: number;
}

export interface WeriftPeerOptions {
  role: 'offerer' | 'answerer';
  /** Offerer only: reliability of the tokens channel. The answerer learns it from DCEP. */
  tokens?: TokensReliability;
  /** STUN/TURN servers; default none (loopback needs none). */
  iceServers?: RTCIceServer[];
  /**
   * Default true: gather, offer, accept and pair only 127.x candidates, and strip other candidate
   * lines from local and remote SDP. Set false to use real interfaces (with `iceServers`).
   */
  loopbackOnly?: boolean;
  /**
   * With `loopbackOnly: false`: gather host candidates on this IPv4 address only (an interface of
   * this machine, e.g. the veth of a lab namespace). Default: every interface.
   */
  iceHostAddress?: string;
  /** Liveness heartbeat on the control channel; `false` disables it. Default 250 / 1500 ms. */
  heartbeat?: HeartbeatOptions | false;
  /** `send` resolves at once while the channel's bufferedAmount ≤ this (bytes). Default 256 KiB. */
  highWaterMark?: number;
  /** A waiting `send` resumes when bufferedAmount drains to this (bufferedAmountLowThreshold). Default 64 KiB. */
  lowWaterMark?: number;
  /** Both channels must be open this long (ms) after the offer/answer starts, else `failed`. Default 10 s. */
  openTimeoutMs?: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 250, timeoutMs: 1500 };
const DEFAULT_HIGH_WATER = 256 * 1024;
const DEFAULT_LOW_WATER = 64 * 1024;
const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
/**
 * Heartbeats travel as DCEP *string* messages (PPID 51) on the control channel; application
 * messages are always binary (PPID 53), so the two never mix and a string never reaches `messages$`.
 */
/**
 * Sent (as a string) on the control channel by `close()`: werift's `close()` does not get an SCTP
 * ABORT to the other side reliably, so the remote learns of an orderly close from this.
 */
const BYE_TEXT = 'bye';
const CLOSED_LOCALLY = 'closed locally';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True for an IPv4 loopback address (127.0.0.0/8). */
export function isLoopbackAddress(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The connection address of an ICE candidate line (`candidate:...` or `a=candidate:...`). */
export function candidateAddress(candidate: string): string | null {
  const fields = candidate.trim().replace(/^a=/, '').split(/\s+/);
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
  return fields.length >= 8 ? (fields[4] ?? null) : null;
}

/** Removes every `a=candidate` line whose address is not IPv4 loopback. */
export function stripNonLoopbackCandidates(sdp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  return sdp
    .split(/\r?\n/)
    .filter((line) => {
      if (!line.startsWith('a=candidate:')) return true;
      const addr = candidateAddress(line);
      return addr !== null && isLoopbackAddress(addr);
    })
    .join(eol);
}

/** werift configuration for the given options (loopback-only ICE by default). */
export function weriftConfig(opts: Pick<WeriftPeerOptions, 'iceServers' | 'loopbackOnly' | 'iceHostAddress'>): Partial<PeerConfig> {
  const iceServers = opts.iceServers ?? [];
  if (opts.loopbackOnly === false) {
    if (!opts.iceHostAddress) return { iceServers };
    return { iceServers, iceUseIpv6: false, iceInterfaceAddresses: { udp4: opts.iceHostAddress }, iceAdditionalHostAddresses: [opts.iceHostAddress] };
  }
  return {
    iceServers,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceFilterCandidatePair: (pair) =>
      isLoopbackAddress(pair.localCandidate.host) && isLoopbackAddress(pair.remoteCandidate.host),
    // a peer may also probe us from a non-loopback socket (Chromium pairs all its interfaces with
    // our 127.0.0.1 candidate): do not answer, so nothing is ever sent to a non-loopback address
    iceFilterStunResponse: (_message, addr) => isLoopbackAddress(addr[0]),
  };
}

/** A werift data channel as a `ByteChannel` (the werift-specific parts of `QueuedByteChannel`). */
class WeriftByteChannel extends QueuedByteChannel<Buffer> {
  constructor(
    label: 'control' | 'tokens',
    readonly dc: RTCDataChannel,
    owner: WeriftPeer,
    high: number,
    low: number,
  ) {
    dc.bufferedAmountLowThreshold = low;
    super(
      label,
      {
        get bufferedAmount() {
          return dc.bufferedAmount;
        },
        // werift keeps a reference to the buffer until it is transmitted (and for retransmission):
        // hand it a private copy so the caller may reuse its buffer.
        own: (bytes) => Buffer.from(bytes),
        send: (data) => dc.send(data),
        onBufferedAmountLow: (listener) => dc.bufferedAmountLow.subscribe(listener).unSubscribe,
        state$: owner.state$,
        sendError: (size) => owner.sendError(size),
        endedError: (state) => new Error(`transport ${state}`),
      },
      high,
      low,
    );
  }
}

/** A werift peer with a `control` and a `tokens` channel. */
export class WeriftPeer implements PeerTransport {
  /** The werift connection, for diagnostics and the test loss shim; the protocol must not use it. */
  readonly pc: RTCPeerConnection;
  readonly role: 'offerer' | 'answerer';
  readonly maxMessageSize = 65536;
  readonly state$: Observable<TransportState>;
  /** Trickled local candidates (loopback-filtered); `null` ends gathering. */
  readonly localCandidates$: Observable<IceCandidateJson | null>;
  /** Why the state became `failed` or `closed`, once it has. */
  failureReason: string | null = null;

  private _state: TransportState = 'new';
  /** Replays the latest state (and completion) to late subscribers. */
  private readonly stateSubject = new ReplaySubject<TransportState>(1);
  private readonly candidates = new ReplaySubject<IceCandidateJson | null>();
  private readonly opts: Required<Omit<WeriftPeerOptions, 'tokens' | 'iceServers' | 'heartbeat' | 'iceHostAddress'>> & {
    heartbeat: HeartbeatOptions | false;
  };
  private _reliability: TokensReliability;
  private _control: WeriftByteChannel | null = null;
  private _tokens: WeriftByteChannel | null = null;
  private lastRx = 0;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private openTimer: NodeJS.Timeout | null = null;
  private readonly disposers: Array<() => void> = [];

  constructor(options: WeriftPeerOptions) {
    this.role = options.role;
    if (options.role === 'answerer' && options.tokens) {
      throw new Error('the answerer learns the tokens reliability from the offer; do not pass `tokens`');
    }
    this._reliability = options.tokens ?? { mode: 'reliable' };
    validateReliability(this._reliability);
    this.opts = {
      role: options.role,
      loopbackOnly: options.loopbackOnly ?? true,
      heartbeat: options.heartbeat === undefined ? DEFAULT_HEARTBEAT : options.heartbeat,
      highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER,
      lowWaterMark: options.lowWaterMark ?? DEFAULT_LOW_WATER,
      openTimeoutMs: options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
    };
    if (!(this.opts.lowWaterMark <= this.opts.highWaterMark)) {
      throw new RangeError('lowWaterMark must be ≤ highWaterMark');
    }
    this.pc = new RTCPeerConnection(weriftConfig(options));
    this.stateSubject.next('new');
    this.state$ = this.stateSubject.asObservable();
    this.localCandidates$ = this.candidates.asObservable();

    this.sub(
      this.pc.onIceCandidate.subscribe((c: RTCIceCandidate | undefined) => {
        if (!c) {
          this.candidates.next(null);
          return;
        }
        const addr = candidateAddress(c.candidate);
        if (this.opts.loopbackOnly && (addr === null || !isLoopbackAddress(addr))) return;
        this.candidates.next({ candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null });
      }).unSubscribe,
    );
    this.sub(
      this.pc.connectionStateChange.subscribe((s) => {
        if (s === 'failed') this.terminate('failed', 'ICE/DTLS connection failed');
        else if (s === 'closed') this.terminate('closed', 'peer connection closed');
      }).unSubscribe,
    );
    if (this.role === 'answerer') {
      this.sub(this.pc.onDataChannel.subscribe((dc) => this.adopt(dc)).unSubscribe);
    }
  }

  get state(): TransportState {
    return this._state;
  }

  get reliability(): TokensReliability {
    return this._reliability;
  }

  get control(): ByteChannel {
    if (!this._control) throw new Error('control channel not created yet (signal first)');
    return this._control;
  }

  get tokens(): ByteChannel {
    if (!this._tokens) throw new Error('tokens channel not created yet (signal first)');
    return this._tokens;
  }

  /** What the local werift channel object says about the tokens channel (DCEP result on the answerer). */
  get tokensChannelInfo(): { ordered: boolean; maxRetransmits: number | null; maxPacketLifeTime: number | null } | null {
    const dc = this._tokens?.dc;
    return dc ? { ordered: dc.ordered, maxRetransmits: dc.maxRetransmits, maxPacketLifeTime: dc.maxPacketLifeTime } : null;
  }

  /** Offerer: creates both channels and returns the offer (with candidates). */
  async createOffer(): Promise<SessionDescriptionJson> {
    if (this.role !== 'offerer') throw new Error('createOffer: not the offerer');
    if (this.state !== 'new') throw new Error(`createOffer: state is ${this.state}`);
    this.begin();
    this.adopt(this.pc.createDataChannel(CONTROL_LABEL, { ordered: true }));
    this.adopt(this.pc.createDataChannel(TOKENS_LABEL, tokensChannelInit(this._reliability)));
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    return this.localDescriptionJson('offer');
  }

  /** Answerer: applies the offer and returns the answer (with candidates). */
  async acceptOffer(offer: SessionDescriptionJson): Promise<SessionDescriptionJson> {
    if (this.role !== 'answerer') throw new Error('acceptOffer: not the answerer');
    if (offer.type !== 'offer') throw new Error(`acceptOffer: got ${offer.type}`);
    if (this.state !== 'new') throw new Error(`acceptOffer: state is ${this.state}`);
    this.begin();
    await this.pc.setRemoteDescription({ type: 'offer', sdp: this.filterSdp(offer.sdp) });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    return this.localDescriptionJson('answer');
  }

  /** Offerer: applies the answer. */
  async acceptAnswer(answer: SessionDescriptionJson): Promise<void> {
    if (this.role !== 'offerer') throw new Error('acceptAnswer: not the offerer');
    if (answer.type !== 'answer') throw new Error(`acceptAnswer: got ${answer.type}`);
    await this.pc.setRemoteDescription({ type: 'answer', sdp: this.filterSdp(answer.sdp) });
  }

  /** Adds a trickled remote candidate (non-loopback ones are ignored when loopbackOnly). */
  async addRemoteCandidate(c: IceCandidateJson | null): Promise<void> {
    if (c === null || c.candidate === '') return;
    const addr = candidateAddress(c.candidate);
    if (this.opts.loopbackOnly && (addr === null || !isLoopbackAddress(addr))) return;
    await this.pc.addIceCandidate({
      candidate: c.candidate,
      sdpMid: c.sdpMid ?? undefined,
      sdpMLineIndex: c.sdpMLineIndex ?? undefined,
    });
  }

  /** Resolves when both channels are open; rejects if the transport closes or fails first. */
  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = this.state$.subscribe((st) => {
        if (st === 'open') resolve();
        else if (st === 'closed' || st === 'failed') reject(new Error(`transport ${st}: ${this.failureReason ?? ''}`));
      });
      // the subscription completes with the subject; nothing to clean up beyond this
      void s;
    });
  }

  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'failed') {
      await this.pc.close().catch(() => undefined);
      return;
    }
    const wasOpen = this.state === 'open';
    this.terminate('closed', CLOSED_LOCALLY);
    if (wasOpen && this._control) {
      try {
        this._control.dc.send(BYE_TEXT);
        // give the goodbye a moment to leave before the DTLS transport goes away
        for (let i = 0; i < 10 && this._control.dc.bufferedAmount > 0; i++) await sleep(5);
        await sleep(5);
      } catch {
        // closing anyway
      }
    }
    await this.pc.close().catch(() => undefined);
  }

  /** @internal The error a `send` of `size` bytes would meet now, if any. */
  sendError(size: number): Error | null {
    if (this.state !== 'open') return new Error(`transport is ${this.state}`);
    if (size === 0) return new RangeError('empty messages are not supported');
    if (size > this.maxMessageSize) {
      return new RangeError(`message of ${size} bytes exceeds max-message-size ${this.maxMessageSize}`);
    }
    return null;
  }

  // ---- internals ----

  private sub(dispose: () => void): void {
    this.disposers.push(dispose);
  }

  private filterSdp(sdp: string): string {
    return this.opts.loopbackOnly ? stripNonLoopbackCandidates(sdp) : sdp;
  }

  private localDescriptionJson(type: 'offer' | 'answer'): SessionDescriptionJson {
    const d = this.pc.localDescription;
    if (!d) throw new Error('no local description');
    return { type, sdp: this.filterSdp(d.sdp) };
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
    const ch = new WeriftByteChannel(label, dc, this, this.opts.highWaterMark, this.opts.lowWaterMark);
    if (label === CONTROL_LABEL) this._control = ch;
    else {
      this._tokens = ch;
      if (this.role === 'answerer') this._reliability = reliabilityOf(dc);
    }
    this.sub(
      dc.onMessage.subscribe((data: string | Buffer) => {
        this.lastRx = performance.now();
        if (typeof data === 'string') {
          // transport signals: heartbeat (liveness only) or an orderly goodbye
          if (data === BYE_TEXT && label === CONTROL_LABEL) this.terminate('closed', 'closed by the remote peer');
          return;
        }
        // werift hands out views into its packet buffers: give subscribers their own bytes
        ch.deliver(new Uint8Array(data));
      }).unSubscribe,
    );
    this.sub(
      dc.stateChanged.subscribe((s) => {
        if (s === 'open') this.maybeOpen();
        else if (s === 'closed' && this.state !== 'closed' && this.state !== 'failed') {
          this.terminate('closed', `${label} channel closed by the remote peer`);
        }
      }).unSubscribe,
    );
    if (dc.readyState === 'open') this.maybeOpen();
  }

  private maybeOpen(): void {
    if (this.state !== 'connecting') return;
    if (this._control?.dc.readyState !== 'open' || this._tokens?.dc.readyState !== 'open') return;
    if (this.openTimer) clearTimeout(this.openTimer);
    this.openTimer = null;
    this.lastRx = performance.now();
    this.watchDatagrams();
    this.startHeartbeat();
    this.setState('open');
  }

  /**
   * Any datagram from the peer counts as life: SACKs, retransmissions and DATA for either channel
   * keep arriving on a lossy link while one lost packet holds the ordered control channel (and
   * the heartbeats on it) behind a retransmission. werift's ICE connection emits every datagram
   * it takes off the socket; the counters are the link-level receive side.
   */
  private watchDatagrams(): void {
    const connection = (this.pc.sctpTransport as unknown as { dtlsTransport?: { iceTransport?: { connection?: { onData?: { subscribe(f: (data: Buffer) => void): { unSubscribe(): void } } } } } } | undefined)?.dtlsTransport?.iceTransport?.connection;
    const sub = connection?.onData?.subscribe((data) => {
      this.lastRx = performance.now();
      this.received.datagrams++;
      this.received.bytes += data.length;
    });
    if (sub) this.disposers.push(() => sub.unSubscribe());
  }

  /** UDP datagrams and their bytes taken off the socket for this connection since it opened. */
  readonly received = { datagrams: 0, bytes: 0 };

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
    this.heartbeatTimer.unref();
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
    for (const d of this.disposers.splice(0)) d();
    // the local close() path sends its goodbye first and closes the connection itself
    if (reason !== CLOSED_LOCALLY) void this.pc.close().catch(() => undefined);
  }
}

/** ICE settings a peer takes from its caller (CLI flags, environment): which link it uses. */
export type IceOptions = Pick<WeriftPeerOptions, 'loopbackOnly' | 'iceServers' | 'iceHostAddress'>;

/**
 * ICE options from the environment, for worker and edge processes: `UNIMIC_ICE_HOST=ADDR` (gather
 * on that IPv4 address, not loopback only) and `UNIMIC_ICE_SERVERS=stun:host:port,…`. Unset: the
 * loopback-only default.
 */
export function iceOptionsFromEnv(env: Record<string, string | undefined>): IceOptions {
  const servers = (env.UNIMIC_ICE_SERVERS ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  const host = env.UNIMIC_ICE_HOST?.trim();
  if (!host && servers.length === 0) return {};
  return { loopbackOnly: false, ...(host ? { iceHostAddress: host } : {}), ...(servers.length ? { iceServers: servers.map((urls) => ({ urls })) } : {}) };
}
