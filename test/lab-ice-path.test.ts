import { Subject, firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createUdpRelay, type UdpRelay } from '@unimic/netlab';
import { WeriftPeer, negotiate, type NegotiationMessage, type SignalRelay } from '@unimic/transport';
import { throughRelay } from '../lab/ice-path.ts';

/*
 * The lab's impairment relay on a real ICE path: two werift peers on loopback, the edge's
 * signaling wrapped by throughRelay(). Every datagram must cross the relay both ways (nothing
 * goes past it), and a seeded loss model applied there is what the session sees.
 */

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers = [];
});

function relayPair(): [SignalRelay, SignalRelay] {
  const toCloud = new Subject<NegotiationMessage>();
  const toEdge = new Subject<NegotiationMessage>();
  return [
    { send: (m) => toCloud.next(m), messages$: toEdge },
    { send: (m) => toEdge.next(m), messages$: toCloud },
  ];
}

async function session(loss: number) {
  const edge = new WeriftPeer({ role: 'offerer', tokens: { mode: 'reliable' } });
  const cloud = new WeriftPeer({ role: 'answerer' });
  closers.push(() => edge.close(), () => cloud.close());
  const relays: UdpRelay[] = [];
  const [edgeSide, cloudSide] = relayPair();
  const wrapped = throughRelay(edgeSide, async (target) => {
    const r = await createUdpRelay({
      listen: { address: '127.0.0.1', port: 0 },
      target,
      up: { loss: loss > 0 ? { kind: 'random', rate: loss } : { kind: 'none' }, seed: 7 },
      down: { loss: loss > 0 ? { kind: 'random', rate: loss } : { kind: 'none' }, seed: 8 },
    });
    relays.push(r);
    closers.push(() => r.close());
    return { address: r.address, port: r.port };
  });
  await Promise.all([negotiate(edge, wrapped, { timeoutMs: 15_000 }), negotiate(cloud, cloudSide, { timeoutMs: 15_000 })]);
  return { edge, cloud, relays };
}

describe('the impairment relay on the ICE path', () => {
  it('carries every datagram of the session, both ways', async () => {
    const { edge, cloud, relays } = await session(0);
    expect(relays).toHaveLength(1);
    const got = firstValueFrom(cloud.tokens.messages$.pipe(take(20), toArray()));
    for (let i = 0; i < 20; i++) edge.tokens.send(new Uint8Array(300).fill(i));
    expect((await got).map((m) => m[0])).toEqual([...Array(20).keys()]);
    const echoed = firstValueFrom(edge.control.messages$.pipe(take(5), toArray()));
    for (let i = 0; i < 5; i++) cloud.control.send(new Uint8Array([i]));
    expect((await echoed).length).toBe(5);
    const s = (relays[0] as UdpRelay).stats();
    // ICE checks, DTLS, SCTP and the messages: all of it through the relay
    expect(s.up.datagramsIn).toBeGreaterThan(20);
    expect(s.down.datagramsIn).toBeGreaterThan(5);
    expect(s.up.dropped + s.down.dropped).toBe(0);
  }, 30_000);

  it('its loss is the session’s loss: reliable messages all arrive, the relay counts the drops', async () => {
    const { edge, cloud, relays } = await session(0.15);
    const got = firstValueFrom(cloud.tokens.messages$.pipe(take(50), toArray()));
    for (let i = 0; i < 50; i++) edge.tokens.send(new Uint8Array(200).fill(i));
    expect((await got).map((m) => m[0]).sort((a, b) => (a as number) - (b as number))).toEqual([...Array(50).keys()]);
    const s = (relays[0] as UdpRelay).stats();
    expect(s.up.dropped).toBeGreaterThan(0);
    expect(s.up.dropped / s.up.datagramsIn).toBeGreaterThan(0.05);
    expect(s.up.dropped / s.up.datagramsIn).toBeLessThan(0.3);
  }, 40_000);
});
