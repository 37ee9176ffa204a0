/**
 * signalRelay: a real SignalingClient against a real server on 127.0.0.1. The relay carries the
 * transport's negotiation messages of its own session only, both ways, and ends with the client.
 */
import { filter, firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { NegotiationMessage, SignalRelay } from '@unimic/transport/browser';
import type { SignalingClient } from '../src/client.ts';
import { connectSignaling } from '../src/node.ts';
import { signalRelay } from '../src/signal-relay.ts';
import { Cleanup, startServer, withTimeout, type TestServer } from './helpers.ts';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const OFFER: NegotiationMessage = { kind: 'sdp', description: { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n' } };
const ANSWER: NegotiationMessage = { kind: 'sdp', description: { type: 'answer', sdp: 'v=0\r\n' } };
const CANDIDATE: NegotiationMessage = {
  kind: 'candidate',
  candidate: { candidate: 'candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'abcd' },
};
const END: NegotiationMessage = { kind: 'candidate', candidate: null };

const client = async (t: TestServer, role: 'edge' | 'cloud', sub: string): Promise<SignalingClient> =>
  cleanup.add(await connectSignaling(t.server.url, t.server.mintToken(role, sub)));

/** The next `n` messages of a relay. */
const next = (r: SignalRelay, n = 1) =>
  withTimeout(firstValueFrom(r.messages$.pipe(take(n), toArray())), 5000, `${n} relayed message(s)`);

/** One worker (room for two sessions) and two edges in sessions s1 and s2. */
async function twoSessions() {
  const t = await startServer({ maxSessionsPerWorker: 2 });
  cleanup.add(t.server);
  const cloud = await client(t, 'cloud', 'w1');
  await cloud.registerWorker();
  const edge1 = await client(t, 'edge', 's1');
  const edge2 = await client(t, 'edge', 's2');
  expect(await edge1.openSession()).toBe('s1');
  expect(await edge2.openSession()).toBe('s2');
  return { t, cloud, edge1, edge2 };
}

describe('signalRelay', () => {
  it('carries negotiation messages both ways, as sent, within its session only', async () => {
    const { cloud, edge1, edge2 } = await twoSessions();
    const cloud1 = signalRelay(cloud, 's1');
    const cloud2 = signalRelay(cloud, 's2');
    const e1 = signalRelay(edge1, 's1');
    const e2 = signalRelay(edge2, 's2');

    // s2 speaks first on the same worker socket: what the s1 relay gets first must still be s1's.
    const atCloud1 = next(cloud1, 3);
    const atCloud2 = next(cloud2);
    e2.send(END);
    for (const m of [OFFER, CANDIDATE, END]) e1.send(m);
    expect(await atCloud1).toEqual([OFFER, CANDIDATE, END]);
    expect(await atCloud2).toEqual([END]);

    // The worker's relays address their own session's edge.
    const atEdge1 = next(e1);
    const atEdge2 = next(e2);
    cloud2.send(CANDIDATE);
    cloud1.send(ANSWER);
    expect(await atEdge1).toEqual([ANSWER]);
    expect(await atEdge2).toEqual([CANDIDATE]);
  });

  it('passes no other server message, and completes when the client closes', async () => {
    const { cloud, edge1 } = await twoSessions();
    const cloud1 = signalRelay(cloud, 's1');
    const all = lastValueFrom(cloud1.messages$.pipe(toArray()));
    // (the worker's own session-assigned for s2 may still be on its way: wait for the close itself)
    const closed = firstValueFrom(cloud.messages$.pipe(filter((m) => m.type === 'session-closed'), take(1)));
    edge1.leave('s1'); // the worker gets session-closed: not a negotiation message
    expect(await withTimeout(closed, 5000, 'session-closed')).toEqual({ type: 'session-closed', session: 's1', reason: 'peer-left' });
    cloud.close();
    expect(await withTimeout(all, 5000, 'relay completion')).toEqual([]);
  });
});
