import { afterEach, describe, expect, it } from 'vitest';
import { firstValueFrom, take, toArray } from 'rxjs';
import {
  candidateAddress,
  createPeerPair,
  installLossShim,
  isLoopbackAddress,
  stripNonLoopbackCandidates,
  WeriftPeer,
  iceOptionsFromEnv,
  weriftConfig,
} from '../src/index.ts';
import type { TransportState } from '../src/index.ts';
import { closeAll, collect, indexOf, indexed, settle, sleep, waitForState } from './helpers.ts';

let peers: WeriftPeer[] = [];
afterEach(async () => {
  await closeAll(...peers);
  peers = [];
});
async function pair(...args: Parameters<typeof createPeerPair>) {
  const p = await createPeerPair(...args);
  peers.push(p.offerer, p.answerer);
  return p;
}

describe('SDP helpers', () => {
  it('keeps only loopback candidate lines', () => {
    const sdp = [
      'v=0',
      'a=candidate:1 1 udp 2116026367 127.0.0.1 50835 typ host generation 0',
      'a=candidate:2 1 udp 2116026367 192.0.2.2 35174 typ host generation 0',
      'a=candidate:3 1 udp 2116026367 fe80::1 35175 typ host',
      'a=candidate:4 1 udp 2116026367 abcd.local 35176 typ host',
      'a=end-of-candidates',
      '',
    ].join('\r\n');
    const out = stripNonLoopbackCandidates(sdp);
    expect(out).toBe(['v=0', 'a=candidate:1 1 udp 2116026367 127.0.0.1 50835 typ host generation 0', 'a=end-of-candidates', ''].join('\r\n'));
    expect(candidateAddress('candidate:1 1 udp 1 127.0.0.1 5 typ host')).toBe('127.0.0.1');
    expect(isLoopbackAddress('127.3.2.1')).toBe(true);
    expect(isLoopbackAddress('1127.0.0.1')).toBe(false);
  });

  it('rejects bad options and roles', () => {
    expect(() => new WeriftPeer({ role: 'offerer', tokens: { mode: 'maxRetransmits', n: -1 } })).toThrow(RangeError);
    expect(() => new WeriftPeer({ role: 'answerer', tokens: { mode: 'reliable' } })).toThrow(/answerer/);
  });
});

describe('werift peers on loopback', () => {
  it('opens both channels, reports states, and offers only loopback candidates', async () => {
    const offerer = new WeriftPeer({ role: 'offerer', tokens: { mode: 'reliable' } });
    const answerer = new WeriftPeer({ role: 'answerer' });
    peers.push(offerer, answerer);
    const states: TransportState[] = [];
    offerer.state$.subscribe((s) => states.push(s));
    const offer = await offerer.createOffer();
    const cands = offer.sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
    expect(cands.length).toBeGreaterThan(0);
    for (const c of cands) expect(isLoopbackAddress(candidateAddress(c) ?? '')).toBe(true);
    // the SDP travels as plain JSON
    const answer = await answerer.acceptOffer(JSON.parse(JSON.stringify(offer)));
    await offerer.acceptAnswer(JSON.parse(JSON.stringify(answer)));
    await Promise.all([offerer.opened(), answerer.opened()]);
    expect(states).toEqual(['new', 'connecting', 'open']);
    expect(answerer.reliability).toEqual({ mode: 'reliable' });
    expect(answerer.tokensChannelInfo).toEqual({ ordered: false, maxRetransmits: null, maxPacketLifeTime: null });
  });

  it('carries control and tokens messages both ways, copying the sender buffer', async () => {
    const { offerer, answerer } = await pair({ tokens: { mode: 'reliable' } });
    const toAnswerer = firstValueFrom(answerer.control.messages$.pipe(take(3), toArray()));
    const toOfferer = firstValueFrom(offerer.tokens.messages$.pipe(take(3), toArray()));
    const buf = new Uint8Array([1, 2, 3]);
    for (let i = 0; i < 3; i++) {
      buf[0] = i; // reusing the buffer right after send must not change what was sent
      await offerer.control.send(buf);
    }
    for (let i = 0; i < 3; i++) await answerer.tokens.send(indexed(i));
    expect((await toAnswerer).map((m) => [...m])).toEqual([[0, 2, 3], [1, 2, 3], [2, 2, 3]]);
    expect((await toOfferer).map(indexOf).sort()).toEqual([0, 1, 2]);
    const back = firstValueFrom(answerer.tokens.messages$.pipe(take(1)));
    await offerer.tokens.send(indexed(7));
    expect(indexOf(await back)).toBe(7);
    const ctl = firstValueFrom(offerer.control.messages$.pipe(take(1)));
    await answerer.control.send(new Uint8Array([9]));
    expect([...(await ctl)]).toEqual([9]);
  });

  it('rejects empty, oversized and post-close sends', async () => {
    const { offerer } = await pair();
    await expect(offerer.tokens.send(new Uint8Array(0))).rejects.toThrow(/empty/);
    await expect(offerer.tokens.send(new Uint8Array(65537))).rejects.toThrow(/max-message-size/);
    await offerer.close();
    await expect(offerer.control.send(new Uint8Array(1))).rejects.toThrow(/closed/);
  });

  it('applies backpressure: bufferedAmount stays near the high-water mark and everything arrives', async () => {
    const high = 64 * 1024;
    const { offerer, answerer } = await pair({ tokens: { mode: 'reliable' }, highWaterMark: high, lowWaterMark: 16 * 1024 });
    const n = 200;
    const rx = collect(answerer.tokens);
    let maxBuffered = 0;
    for (let i = 0; i < n; i++) {
      await offerer.tokens.send(indexed(i, 16 * 1024));
      maxBuffered = Math.max(maxBuffered, offerer.tokens.bufferedAmount);
    }
    await settle(rx.count, 3000, 20_000, n);
    rx.stop();
    expect(rx.count()).toBe(n);
    expect(maxBuffered).toBeLessThanOrEqual(high + 16 * 1024);
  });

  it('reports an orderly remote close as `closed` within 2 s', async () => {
    const { offerer, answerer } = await pair();
    const t0 = performance.now();
    const seen = waitForState(answerer, ['closed', 'failed'], 2000);
    await offerer.close();
    expect(await seen).toBe('closed');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('detects a vanished peer (all its packets lost) as `failed` within 2 s', async () => {
    const { offerer, answerer } = await pair();
    // the offerer goes silent: nothing it sends reaches the answerer any more
    installLossShim(offerer, { loss: 0 }).blackhole(true);
    const t0 = performance.now();
    const st = await waitForState(answerer, ['closed', 'failed'], 2500);
    const dt = performance.now() - t0;
    expect(st).toBe('failed');
    expect(answerer.failureReason).toMatch(/peer lost/);
    expect(dt).toBeLessThan(2000);
  });

  it('delivers messages sent before the receiver subscribed', async () => {
    const { offerer, answerer } = await pair();
    await offerer.control.send(new Uint8Array([5]));
    await sleep(100);
    const m = await firstValueFrom(answerer.control.messages$.pipe(take(1)));
    expect([...m]).toEqual([5]);
  });
});

describe('link-level liveness', () => {
  it('counts every datagram taken off the socket, so SACKs and retransmissions keep a peer alive', async () => {
    const { offerer, answerer } = await pair({ tokens: { mode: 'reliable' } });
    const before = answerer.received.datagrams;
    for (let i = 0; i < 20; i++) await offerer.tokens.send(new Uint8Array(100).fill(i));
    await sleep(300);
    // DATA (and heartbeats) arrive at the answerer, SACKs come back to the offerer
    expect(answerer.received.datagrams - before).toBeGreaterThanOrEqual(1);
    expect(answerer.received.bytes).toBeGreaterThan(20 * 100);
    expect(offerer.received.datagrams).toBeGreaterThan(0);
  });
});

describe('ICE options for a real link', () => {
  it('come from the environment: a host address and STUN servers turn loopback-only off', () => {
    expect(iceOptionsFromEnv({})).toEqual({});
    expect(iceOptionsFromEnv({ UNIMIC_ICE_HOST: '10.213.7.1' })).toEqual({ loopbackOnly: false, iceHostAddress: '10.213.7.1' });
    expect(iceOptionsFromEnv({ UNIMIC_ICE_SERVERS: 'stun:a:3478, stun:b:3478' })).toEqual({ loopbackOnly: false, iceServers: [{ urls: 'stun:a:3478' }, { urls: 'stun:b:3478' }] });
  });

  it('bind werift to the one address asked for', () => {
    const c = weriftConfig({ loopbackOnly: false, iceHostAddress: '10.213.7.1' });
    expect(c.iceInterfaceAddresses).toEqual({ udp4: '10.213.7.1' });
    expect(c.iceFilterCandidatePair).toBeUndefined();
    expect(weriftConfig({}).iceInterfaceAddresses).toEqual({ udp4: '127.0.0.1' });
  });
});
