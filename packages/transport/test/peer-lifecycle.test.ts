import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeerLifecycle } from '../src/peer-lifecycle.ts';
import type { ChannelEvents, ChannelIo, LifecycleChannel, PeerErrorKind, PeerLifecycleOptions } from '../src/peer-lifecycle.ts';
import { stripNonLoopbackCandidates } from '../src/candidates.ts';
import type { SessionDescriptionJson, TransportState } from '../src/types.ts';

/*
 * PeerLifecycle (what WeriftPeer and BrowserPeer share) over an in-memory connection, with fake
 * timers: when the transport opens, times out, counts the peer lost, and how it ends.
 */

class FakeChannel implements LifecycleChannel {
  readyState = 'connecting';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  readonly sent: Array<string | number[]> = [];
  on: ChannelEvents | null = null;
  constructor(
    readonly label: string,
    readonly ordered = true,
    readonly maxRetransmits: number | null = null,
    readonly maxPacketLifeTime: number | null = null,
  ) {}
  send(data: string | Uint8Array): void {
    this.sent.push(typeof data === 'string' ? data : [...data]);
  }
  open(): void {
    this.readyState = 'open';
    this.on?.open();
  }
  texts(): string[] {
    return this.sent.filter((m): m is string => typeof m === 'string');
  }
}

const tagged = (kind: PeerErrorKind, message: string): Error => Object.assign(new Error(message), { kind });

class FakePeer extends PeerLifecycle<FakeChannel> {
  readonly maxMessageSize = 1000;
  readonly channels: FakeChannel[] = [];
  readonly remote: Array<{ type: string; sdp: string }> = [];
  connectionCloses = 0;
  localSdp = 'v=0\r\na=candidate:1 1 udp 1 127.0.0.1 5 typ host\r\na=candidate:2 1 udp 1 192.0.2.1 5 typ host\r\n';

  constructor(options: PeerLifecycleOptions) {
    super(options, tagged);
  }
  /** The answerer's connection announces a channel. */
  announce(dc: FakeChannel): void {
    this.channels.push(dc);
    this.adopt(dc);
  }
  connection(s: string): void {
    this.connectionStateChanged(s);
  }
  get control$() {
    return this.channels.find((c) => c.label === 'control')!;
  }
  get tokens$() {
    return this.channels.find((c) => c.label === 'tokens')!;
  }
  protected createChannel(label: string, init: { ordered: boolean; maxRetransmits?: number; maxPacketLifeTime?: number }): FakeChannel {
    const dc = new FakeChannel(label, init.ordered, init.maxRetransmits ?? null, init.maxPacketLifeTime ?? null);
    this.channels.push(dc);
    return dc;
  }
  protected listen(dc: FakeChannel, on: ChannelEvents): void {
    dc.on = on;
  }
  protected channelIo(dc: FakeChannel): ChannelIo<Uint8Array> {
    return { own: (b) => new Uint8Array(b), send: (d) => dc.send(d), onBufferedAmountLow: () => () => undefined };
  }
  protected async describeLocal(type: 'offer' | 'answer'): Promise<SessionDescriptionJson> {
    return { type, sdp: this.filterSdp(this.localSdp) };
  }
  protected async applyRemote(type: 'offer' | 'answer', sdp: string): Promise<void> {
    this.remote.push({ type, sdp });
  }
  protected keepLoopback(sdp: string): string {
    return stripNonLoopbackCandidates(sdp);
  }
  protected closeConnection(): void {
    this.connectionCloses++;
  }
}

function states(peer: FakePeer): { seen: TransportState[]; completed: () => boolean } {
  const seen: TransportState[] = [];
  let done = false;
  peer.state$.subscribe({ next: (s) => seen.push(s), complete: () => (done = true) });
  return { seen, completed: () => done };
}

/** An offerer with both channels open. */
async function openOfferer(options: Partial<PeerLifecycleOptions> = {}): Promise<FakePeer> {
  const peer = new FakePeer({ role: 'offerer', ...options });
  await peer.createOffer();
  peer.control$.open();
  peer.tokens$.open();
  expect(peer.state).toBe('open');
  return peer;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('PeerLifecycle: opening', () => {
  it('opens once both channels are open, not before', async () => {
    const peer = new FakePeer({ role: 'offerer', tokens: { mode: 'maxRetransmits', n: 2 } });
    const st = states(peer);
    const offer = await peer.createOffer();
    expect(offer.type).toBe('offer');
    expect(peer.channels.map((c) => [c.label, c.ordered, c.maxRetransmits])).toEqual([
      ['control', true, null],
      ['tokens', false, 2],
    ]);
    expect(peer.control$.bufferedAmountLowThreshold).toBe(64 * 1024);
    peer.control$.open();
    expect(peer.state).toBe('connecting');
    const opened = peer.opened();
    peer.tokens$.open();
    await expect(opened).resolves.toBeUndefined();
    expect(st.seen).toEqual(['new', 'connecting', 'open']);
  });

  it('fails when the channels are not open within openTimeoutMs, and closes the connection once', async () => {
    const peer = new FakePeer({ role: 'offerer', openTimeoutMs: 500 });
    const st = states(peer);
    await peer.createOffer();
    const opened = peer.opened();
    peer.control$.open();
    vi.advanceTimersByTime(499);
    expect(peer.state).toBe('connecting');
    vi.advanceTimersByTime(1);
    expect(peer.state).toBe('failed');
    expect(peer.failureReason).toBe('channels not open within 500 ms');
    await expect(opened).rejects.toMatchObject({ kind: 'notOpened', message: 'transport failed: channels not open within 500 ms' });
    expect(st.completed()).toBe(true);
    expect(peer.connectionCloses).toBe(1);
  });

  it('the answerer adopts announced channels and learns the reliability from the tokens channel', async () => {
    const peer = new FakePeer({ role: 'answerer' });
    const answer = await peer.acceptOffer({ type: 'offer', sdp: 'v=0\r\na=candidate:9 1 udp 1 10.0.0.1 5 typ host\r\n' });
    expect(peer.remote).toEqual([{ type: 'offer', sdp: 'v=0\r\n' }]);
    expect(answer.sdp).not.toContain('192.0.2.1');
    expect(answer.sdp).toContain('127.0.0.1');
    peer.announce(new FakeChannel('other'));
    peer.announce(new FakeChannel('tokens', false, null, 150));
    expect(peer.reliability).toEqual({ mode: 'maxPacketLifeTime', ms: 150 });
    expect(peer.tokensChannelInfo).toEqual({ ordered: false, maxRetransmits: null, maxPacketLifeTime: 150 });
    const control = new FakeChannel('control');
    control.readyState = 'open';
    peer.tokens$.readyState = 'open';
    peer.announce(control); // already open when announced
    expect(peer.state).toBe('open');
  });

  it('leaves SDP alone when not loopback-only', async () => {
    const peer = new FakePeer({ role: 'answerer', loopbackOnly: false });
    const sdp = 'v=0\r\na=candidate:9 1 udp 1 10.0.0.1 5 typ host\r\n';
    const answer = await peer.acceptOffer({ type: 'offer', sdp });
    expect(peer.remote[0]!.sdp).toBe(sdp);
    expect(answer.sdp).toBe(peer.localSdp);
  });
});

describe('PeerLifecycle: checks and errors', () => {
  it('refuses calls that do not fit the role or state, with the peer’s error kind', async () => {
    expect(() => new FakePeer({ role: 'answerer', tokens: { mode: 'reliable' } })).toThrow(/answerer learns/);
    expect(() => new FakePeer({ role: 'offerer', tokens: { mode: 'maxRetransmits', n: 1.5 } })).toThrow(RangeError);
    expect(() => new FakePeer({ role: 'offerer', lowWaterMark: 10, highWaterMark: 5 })).toThrow('lowWaterMark must be ≤ highWaterMark');
    const offerer = new FakePeer({ role: 'offerer' });
    const answerer = new FakePeer({ role: 'answerer' });
    expect(() => offerer.control).toThrow('control channel not created yet (signal first)');
    expect(() => offerer.tokens).toThrow('tokens channel not created yet (signal first)');
    await expect(offerer.acceptOffer({ type: 'offer', sdp: '' })).rejects.toMatchObject({ kind: 'state', message: 'acceptOffer: not the answerer' });
    await expect(answerer.createOffer()).rejects.toMatchObject({ kind: 'state', message: 'createOffer: not the offerer' });
    await expect(answerer.acceptAnswer({ type: 'answer', sdp: '' })).rejects.toMatchObject({ message: 'acceptAnswer: not the offerer' });
    await expect(answerer.acceptOffer({ type: 'answer', sdp: '' })).rejects.toMatchObject({ message: 'acceptOffer: got answer' });
    await expect(offerer.acceptAnswer({ type: 'offer', sdp: '' })).rejects.toMatchObject({ message: 'acceptAnswer: got offer' });
    await offerer.createOffer();
    await expect(offerer.createOffer()).rejects.toMatchObject({ kind: 'state', message: 'createOffer: state is connecting' });
  });

  it('checks sends: not open, empty, too large; and rejects them once the transport ended', async () => {
    const peer = new FakePeer({ role: 'offerer' });
    await peer.createOffer();
    expect(peer.sendError(10)).toMatchObject({ kind: 'send', message: 'transport is connecting' });
    peer.control$.open();
    peer.tokens$.open();
    expect(peer.sendError(10)).toBeNull();
    expect(peer.sendError(0)).toMatchObject({ kind: 'size', message: 'empty messages are not supported' });
    expect(peer.sendError(1001)).toMatchObject({ kind: 'size', message: 'message of 1001 bytes exceeds max-message-size 1000' });
    await peer.tokens.send(new Uint8Array([1, 2, 3]));
    expect(peer.tokens$.sent).toEqual([[1, 2, 3]]);
    await expect(peer.tokens.send(new Uint8Array(1001))).rejects.toMatchObject({ kind: 'size' });
    peer.connection('failed');
    await expect(peer.tokens.send(new Uint8Array(1))).rejects.toMatchObject({ kind: 'send', message: 'transport is failed' });
  });
});

describe('PeerLifecycle: liveness', () => {
  it('sends a heartbeat every interval and counts a silent peer lost after the timeout', async () => {
    const peer = await openOfferer();
    vi.advanceTimersByTime(1000);
    expect(peer.control$.texts()).toEqual(['hb', 'hb', 'hb', 'hb']);
    expect(peer.tokens$.sent).toEqual([]);
    vi.advanceTimersByTime(500);
    expect(peer.state).toBe('open'); // 1500 ms of silence is not more than the timeout
    vi.advanceTimersByTime(250);
    expect(peer.state).toBe('failed');
    expect(peer.failureReason).toBe('peer lost: nothing received for 1750 ms');
  });

  it('anything received on either channel keeps the peer alive; strings never reach messages$', async () => {
    const peer = await openOfferer({ heartbeat: { intervalMs: 100, timeoutMs: 300 } });
    const got: number[][] = [];
    peer.control.messages$.subscribe((m) => got.push([...m]));
    for (let i = 0; i < 20; i++) {
      vi.advanceTimersByTime(200);
      if (i % 2) peer.tokens$.on!.message(new Uint8Array([i]));
      else peer.control$.on!.message('hb');
    }
    expect(peer.state).toBe('open');
    peer.control$.on!.message(new Uint8Array([7]));
    peer.control$.on!.message(undefined);
    expect(got).toEqual([[7]]);
    vi.advanceTimersByTime(400);
    expect(peer.state).toBe('failed');
  });

  it('with heartbeat false, neither pings nor counts the peer lost', async () => {
    const peer = await openOfferer({ heartbeat: false });
    vi.advanceTimersByTime(60_000);
    expect(peer.state).toBe('open');
    expect(peer.control$.sent).toEqual([]);
  });
});

describe('PeerLifecycle: ending', () => {
  it('a goodbye on the control channel closes; one on the tokens channel is ignored', async () => {
    const peer = await openOfferer();
    peer.tokens$.on!.message('bye');
    expect(peer.state).toBe('open');
    peer.control$.on!.message('bye');
    expect(peer.state).toBe('closed');
    expect(peer.failureReason).toBe('closed by the remote peer');
    expect(peer.connectionCloses).toBe(1);
  });

  it('maps channel and connection ends to closed or failed, and the first one wins', async () => {
    const a = await openOfferer();
    const st = states(a);
    let controlDone = false;
    a.control.messages$.subscribe({ complete: () => (controlDone = true) });
    a.tokens$.on!.closed();
    expect([a.state, a.failureReason]).toEqual(['closed', 'tokens channel closed by the remote peer']);
    expect(st.completed()).toBe(true);
    expect(controlDone).toBe(true);
    a.connection('failed');
    a.control$.on!.closed();
    expect([a.state, a.failureReason]).toEqual(['closed', 'tokens channel closed by the remote peer']);
    expect(a.connectionCloses).toBe(1);

    const b = await openOfferer();
    b.connection('failed');
    expect([b.state, b.failureReason]).toEqual(['failed', 'ICE/DTLS connection failed']);
    const c = await openOfferer();
    c.connection('closed');
    expect([c.state, c.failureReason]).toEqual(['closed', 'peer connection closed']);
    const d = await openOfferer();
    d.connection('disconnected');
    expect(d.state).toBe('open');
  });

  it('close() says goodbye when open, closes the connection once, and stops the heartbeat', async () => {
    const peer = await openOfferer();
    const closing = peer.close();
    expect(peer.state).toBe('closed');
    expect(peer.failureReason).toBe('closed locally');
    expect(peer.control$.texts()).toEqual(['bye']);
    expect(peer.connectionCloses).toBe(0); // the goodbye leaves first
    await vi.advanceTimersByTimeAsync(10);
    await closing;
    expect(peer.connectionCloses).toBe(1);
    vi.advanceTimersByTime(5000);
    expect(peer.control$.texts()).toEqual(['bye']);
    await peer.close();
    expect(peer.connectionCloses).toBe(2);
  });

  it('close() before the channels open sends nothing', async () => {
    const peer = new FakePeer({ role: 'offerer' });
    await peer.createOffer();
    await peer.close();
    expect(peer.state).toBe('closed');
    expect(peer.control$.sent).toEqual([]);
    expect(peer.connectionCloses).toBe(1);
    vi.advanceTimersByTime(20_000);
    expect(peer.failureReason).toBe('closed locally');
  });
});
