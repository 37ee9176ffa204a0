import { RTCPeerConnection } from 'werift';
import type { RTCDataChannel, RTCIceCandidate, RTCIceServer, PeerConfig } from 'werift';
import { isLoopbackAddress, isLoopbackCandidate, stripNonLoopbackCandidates } from './candidates.ts';
import type { HeartbeatTiming } from './liveness.ts';
import { MAX_MESSAGE_SIZE, PeerLifecycle } from './peer-lifecycle.ts';
import type { ChannelEvents, ChannelIo, PeerErrors, PeerLifecycleOptions } from './peer-lifecycle.ts';
import type { IceCandidateJson, SessionDescriptionJson } from './types.ts';

export { DEFAULT_HEARTBEAT } from './peer-lifecycle.ts';

/**
 * The werift (Node) implementation of `PeerTransport`.
 *
 * Signaling is left to the caller: the offer/answer helpers produce and consume plain JSON
 * (`SessionDescriptionJson`, `IceCandidateJson`), so any channel (the ws signaling server, an
 * in-process function call, IPC) can carry them. werift gathers before `setLocalDescription`
 * resolves, so the SDP already holds every candidate; `localCandidates$` offers trickle as well.
 */

export type HeartbeatOptions = HeartbeatTiming;

export interface WeriftPeerOptions extends PeerLifecycleOptions {
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
}

/** Plain errors, RangeError for a message size. */
const weriftErrors: PeerErrors = (kind, message) => (kind === 'size' ? new RangeError(message) : new Error(message));

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

/** A werift peer with a `control` and a `tokens` channel. */
export class WeriftPeer extends PeerLifecycle<RTCDataChannel, Buffer> {
  /** The werift connection, for diagnostics and the test loss shim; the protocol must not use it. */
  readonly pc: RTCPeerConnection;
  readonly maxMessageSize = MAX_MESSAGE_SIZE;
  /** UDP datagrams and their bytes taken off the socket for this connection since it opened. */
  readonly received = { datagrams: 0, bytes: 0 };

  constructor(options: WeriftPeerOptions) {
    super(options, weriftErrors);
    this.pc = new RTCPeerConnection(weriftConfig(options));
    this.onEnd(
      this.pc.onIceCandidate.subscribe((c: RTCIceCandidate | undefined) => {
        if (!c) {
          this.candidates.next(null);
          return;
        }
        if (this.loopbackOnly && !isLoopbackCandidate(c.candidate)) return;
        this.candidates.next({ candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null });
      }).unSubscribe,
    );
    this.onEnd(this.pc.connectionStateChange.subscribe((s) => this.connectionStateChanged(s)).unSubscribe);
    if (this.role === 'answerer') this.onEnd(this.pc.onDataChannel.subscribe((dc) => this.adopt(dc)).unSubscribe);
  }

  /** @internal The tokens channel's SCTP stream id (for the test loss shim), once it has one. */
  get tokensStreamId(): number | undefined {
    return this.tokensChannel?.id;
  }

  /** Adds a trickled remote candidate (non-loopback ones are ignored when loopbackOnly). */
  async addRemoteCandidate(c: IceCandidateJson | null): Promise<void> {
    if (c === null || c.candidate === '') return;
    if (this.loopbackOnly && !isLoopbackCandidate(c.candidate)) return;
    await this.pc.addIceCandidate({
      candidate: c.candidate,
      sdpMid: c.sdpMid ?? undefined,
      sdpMLineIndex: c.sdpMLineIndex ?? undefined,
    });
  }

  // ---- werift's API ----

  protected createChannel(label: string, init: { ordered: boolean; maxRetransmits?: number; maxPacketLifeTime?: number }): RTCDataChannel {
    return this.pc.createDataChannel(label, init);
  }

  protected listen(dc: RTCDataChannel, on: ChannelEvents): void {
    // werift hands out views into its packet buffers: give subscribers their own bytes
    this.onEnd(dc.onMessage.subscribe((data) => on.message(typeof data === 'string' ? data : new Uint8Array(data))).unSubscribe);
    this.onEnd(
      dc.stateChanged.subscribe((s) => {
        if (s === 'open') on.open();
        else if (s === 'closed') on.closed();
      }).unSubscribe,
    );
  }

  protected channelIo(dc: RTCDataChannel): ChannelIo<Buffer> {
    return {
      // werift keeps a reference to the buffer until it is transmitted (and for retransmission):
      // hand it a private copy so the caller may reuse its buffer.
      own: (bytes) => Buffer.from(bytes),
      send: (data) => dc.send(data),
      onBufferedAmountLow: (listener) => dc.bufferedAmountLow.subscribe(listener).unSubscribe,
    };
  }

  protected async describeLocal(type: 'offer' | 'answer'): Promise<SessionDescriptionJson> {
    await this.pc.setLocalDescription(type === 'offer' ? await this.pc.createOffer() : await this.pc.createAnswer());
    const d = this.pc.localDescription;
    if (!d) throw new Error('no local description');
    return { type, sdp: this.filterSdp(d.sdp) };
  }

  protected async applyRemote(type: 'offer' | 'answer', sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type, sdp });
  }

  protected keepLoopback(sdp: string): string {
    return stripNonLoopbackCandidates(sdp);
  }

  protected closeConnection(): Promise<void> {
    return this.pc.close().catch(() => undefined);
  }

  /**
   * Any datagram from the peer counts as life: SACKs, retransmissions and DATA for either channel
   * keep arriving on a lossy link while one lost packet holds the ordered control channel (and
   * the heartbeats on it) behind a retransmission. werift's ICE connection emits every datagram
   * it takes off the socket; the counters are the link-level receive side.
   */
  protected override channelsOpened(): void {
    const connection = (this.pc.sctpTransport as unknown as { dtlsTransport?: { iceTransport?: { connection?: { onData?: { subscribe(f: (data: Buffer) => void): { unSubscribe(): void } } } } } } | undefined)?.dtlsTransport?.iceTransport?.connection;
    const sub = connection?.onData?.subscribe((data) => {
      this.heard();
      this.received.datagrams++;
      this.received.bytes += data.length;
    });
    if (sub) this.onEnd(() => sub.unSubscribe());
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
