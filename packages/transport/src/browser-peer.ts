import { isLoopbackUdpCandidate, keepLoopbackCandidates } from './candidates.ts';
import { DEFAULT_HEARTBEAT, MAX_MESSAGE_SIZE, PeerLifecycle } from './peer-lifecycle.ts';
import type { ChannelEvents, ChannelIo, PeerErrorKind, PeerLifecycleOptions } from './peer-lifecycle.ts';
import type { HeartbeatTiming } from './liveness.ts';
import type { IceCandidateJson, SessionDescriptionJson } from './types.ts';

/*
 * The browser implementation of `PeerTransport`, over the browser's own RTCPeerConnection. It
 * speaks exactly what WeriftPeer speaks (the lifecycle both share is peer-lifecycle.ts): the same
 * two channel labels, `control` reliable and ordered, `tokens` unordered with the session's
 * reliability, the same heartbeat ("hb" every 250 ms, peer lost after 1500 ms of silence) and
 * goodbye ("bye") as DCEP *string* messages, while application messages are always binary. No
 * werift, no Node API: this file runs in a page.
 *
 * Signaling is non-trickle: the description is returned once ICE gathering has completed (or
 * after `gatherTimeoutMs`), so it already holds every candidate and `localCandidates$` only
 * announces the end of gathering. That keeps the signaling messages to two (rate-limited server).
 */

export type BrowserHeartbeatOptions = HeartbeatTiming;

export interface BrowserPeerOptions extends PeerLifecycleOptions {
  /** STUN/TURN servers; default none (loopback needs none). */
  iceServers?: RTCIceServer[];
  /**
   * Default true: offer and accept only UDP 127.x candidates, as the werift cloud does (it answers
   * nothing else). Chromium gathers a loopback candidate only when started with
   * `--allow-loopback-in-peer-connection` and once the page may enumerate interfaces
   * (`allowHostCandidates()`). Set false for real networks.
   */
  loopbackOnly?: boolean;
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

const CODE_OF: Record<PeerErrorKind, BrowserTransportCode> = {
  state: BrowserTransportCode.BadState,
  send: BrowserTransportCode.Send,
  size: BrowserTransportCode.Send,
  notOpened: BrowserTransportCode.NotOpened,
};
const browserErrors = (kind: PeerErrorKind, message: string) => new BrowserTransportError(CODE_OF[kind], message);

export const BROWSER_DEFAULT_HEARTBEAT: BrowserHeartbeatOptions = DEFAULT_HEARTBEAT;
const DEFAULT_GATHER_TIMEOUT_MS = 3_000;

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

/** A browser peer with a `control` and a `tokens` channel; the counterpart of WeriftPeer. */
export class BrowserPeer extends PeerLifecycle<RTCDataChannel, Uint8Array<ArrayBuffer>> {
  /** The browser connection, for diagnostics (getStats); the protocol must not use it. */
  readonly pc: RTCPeerConnection;
  private readonly gatherTimeoutMs: number;

  constructor(options: BrowserPeerOptions) {
    super(options, browserErrors);
    this.gatherTimeoutMs = options.gatherTimeoutMs ?? DEFAULT_GATHER_TIMEOUT_MS;
    const Ctor = options.peerConnection ?? (globalThis as { RTCPeerConnection?: typeof RTCPeerConnection }).RTCPeerConnection;
    if (!Ctor) throw new BrowserTransportError(BrowserTransportCode.NoWebRtc, 'this environment has no RTCPeerConnection');
    this.pc = new Ctor({ iceServers: options.iceServers ?? [] });
    this.pc.addEventListener('connectionstatechange', () => this.connectionStateChanged(this.pc.connectionState));
    if (this.role === 'answerer') this.pc.addEventListener('datachannel', (ev) => this.adopt(ev.channel));
  }

  /** The negotiated SCTP limit (Chromium reports the remote's max-message-size), at most 64 KiB. */
  get maxMessageSize(): number {
    const m = this.pc.sctp?.maxMessageSize;
    return m && Number.isFinite(m) && m > 0 ? Math.min(m, MAX_MESSAGE_SIZE) : MAX_MESSAGE_SIZE;
  }

  /** Adds a trickled remote candidate (non-loopback ones are ignored when loopbackOnly). */
  async addRemoteCandidate(c: IceCandidateJson | null): Promise<void> {
    if (c === null || c.candidate === '') return;
    if (this.loopbackOnly && !isLoopbackUdpCandidate(c.candidate)) return;
    await this.pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null });
  }

  // ---- the browser's API ----

  protected createChannel(label: string, init: RTCDataChannelInit): RTCDataChannel {
    return this.pc.createDataChannel(label, init);
  }

  protected listen(dc: RTCDataChannel, on: ChannelEvents): void {
    dc.addEventListener('message', (ev: MessageEvent<unknown>) => {
      const data = ev.data;
      on.message(typeof data === 'string' ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : undefined);
    });
    dc.addEventListener('open', () => on.open());
    dc.addEventListener('close', () => on.closed());
  }

  protected channelIo(dc: RTCDataChannel): ChannelIo<Uint8Array<ArrayBuffer>> {
    dc.binaryType = 'arraybuffer';
    return {
      // RTCDataChannel.send copies synchronously, but only from an ArrayBuffer-backed view; a
      // queued send must not see the caller reuse its buffer, so it gets its own copy.
      own: (bytes, now) => (now && bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes)),
      send: (data) => dc.send(data),
      onBufferedAmountLow: (listener) => {
        dc.addEventListener('bufferedamountlow', listener);
        return () => dc.removeEventListener('bufferedamountlow', listener);
      },
    };
  }

  protected async describeLocal(type: 'offer' | 'answer'): Promise<SessionDescriptionJson> {
    await this.pc.setLocalDescription(await (type === 'offer' ? this.pc.createOffer() : this.pc.createAnswer()));
    return this.gatheredDescription(type);
  }

  protected async applyRemote(type: 'offer' | 'answer', sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type, sdp });
  }

  protected keepLoopback(sdp: string): string {
    return keepLoopbackCandidates(sdp);
  }

  protected closeConnection(): void {
    this.pc.close();
  }

  /** The local description once gathering is over (or timed out), filtered. */
  private async gatheredDescription(type: 'offer' | 'answer'): Promise<SessionDescriptionJson> {
    const pc = this.pc;
    if (pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(finish, this.gatherTimeoutMs);
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
    if (this.loopbackOnly && !/^a=candidate:/m.test(sdp)) {
      const err = new BrowserTransportError(
        BrowserTransportCode.NoLoopbackCandidate,
        'the browser gathered no 127.x UDP candidate: start Chromium with --allow-loopback-in-peer-connection and allow the page to list interfaces (allowHostCandidates)',
      );
      this.terminate('failed', err.message);
      throw err;
    }
    return { type, sdp };
  }
}
