import { firstValueFrom, filter, timeout } from 'rxjs';
import type { ByteChannel, TransportState } from '../src/types.ts';
import type { WeriftPeer } from '../src/werift-peer.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A 200-byte message carrying its index in the first 4 bytes. */
export function indexed(i: number, size = 200): Uint8Array {
  const b = new Uint8Array(size);
  new DataView(b.buffer).setUint32(0, i);
  b.fill(i & 0xff, 4);
  return b;
}

export const indexOf = (m: Uint8Array) => new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(0);

/** Collects inbound messages with their arrival time (performance.now()). */
export function collect(ch: ByteChannel): { got: Map<number, number>; stop: () => void; count: () => number } {
  const got = new Map<number, number>();
  const sub = ch.messages$.subscribe((m) => {
    if (!got.has(indexOf(m))) got.set(indexOf(m), performance.now());
  });
  return { got, stop: () => sub.unsubscribe(), count: () => got.size };
}

/** Waits until `count()` has not changed for `quietMs` (or reached `target`), at most `maxMs`. */
export async function settle(count: () => number, quietMs: number, maxMs: number, target = Infinity): Promise<void> {
  const end = performance.now() + maxMs;
  let last = -1;
  let since = performance.now();
  while (performance.now() < end) {
    const c = count();
    if (c >= target) return;
    if (c !== last) {
      last = c;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) return;
    await sleep(20);
  }
}

/** Resolves with the first state in `states`, rejecting after `ms`. */
export function waitForState(peer: WeriftPeer, states: TransportState[], ms: number): Promise<TransportState> {
  return firstValueFrom(peer.state$.pipe(filter((s) => states.includes(s)), timeout(ms)));
}

export async function closeAll(...peers: Array<WeriftPeer | undefined>): Promise<void> {
  await Promise.all(peers.map((p) => p?.close()));
}
