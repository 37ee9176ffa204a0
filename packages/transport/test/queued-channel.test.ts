import { ReplaySubject, firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { EARLY_MESSAGES_MAX, QueuedByteChannel } from '../src/queued-channel.ts';
import type { ChannelAdapter } from '../src/queued-channel.ts';
import type { TransportState } from '../src/types.ts';

/*
 * QueuedByteChannel (the send queue and inbound buffering shared by WeriftPeer and BrowserPeer)
 * over an in-memory channel whose bufferedAmount the test controls: `send` adds to it, `drain`
 * takes from it and fires the low signal when it crosses the threshold (as werift and browsers do).
 */

const HIGH = 100;
const LOW = 20;

class FakeChannel implements ChannelAdapter {
  bufferedAmount = 0;
  readonly sent: number[][] = [];
  /** `now` of each `own` call, in order. */
  readonly ownNow: boolean[] = [];
  readonly lowListeners = new Set<() => void>();
  current: TransportState = 'open';
  /** Like the peers' state: replays the latest state (and completion) to late subscribers. */
  private readonly state = new ReplaySubject<TransportState>(1);
  readonly state$ = this.state.asObservable();

  constructor() {
    this.state.next('open');
  }

  own(bytes: Uint8Array, now: boolean): Uint8Array {
    this.ownNow.push(now);
    return new Uint8Array(bytes);
  }

  send(data: Uint8Array): void {
    this.sent.push([...data]);
    this.bufferedAmount += data.byteLength;
  }

  onBufferedAmountLow(listener: () => void): () => void {
    this.lowListeners.add(listener);
    return () => this.lowListeners.delete(listener);
  }

  sendError(size: number): Error | null {
    const s = this.current;
    if (s !== 'open') return new Error(`send: transport is ${s}`);
    return size === 0 ? new RangeError('empty') : null;
  }

  endedError(state: 'closed' | 'failed'): Error {
    return new Error(`ended: ${state}`);
  }

  /** Takes `n` bytes out of the buffer; fires the low signal if that crosses the threshold. */
  drain(n: number): void {
    const before = this.bufferedAmount;
    this.bufferedAmount = Math.max(0, before - n);
    if (before > LOW && this.bufferedAmount <= LOW) for (const l of [...this.lowListeners]) l();
  }

  end(state: 'closed' | 'failed'): void {
    this.current = state;
    this.state.next(state);
    this.state.complete();
  }
}

function setup() {
  const fake = new FakeChannel();
  const ch = new QueuedByteChannel('tokens', fake, HIGH, LOW);
  return { fake, ch };
}

const msg = (id: number, size = 60) => new Uint8Array(size).fill(id);
/** The first byte of each sent message (the message id). */
const ids = (fake: FakeChannel) => fake.sent.map((m) => m[0]);
/** Lets queued promise reactions and timers run. */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

/** Tracks whether a promise has settled, and how. */
function track(p: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const t: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  p.then(
    () => (t.state = 'resolved'),
    (e: unknown) => {
      t.state = 'rejected';
      t.error = e;
    },
  );
  return t;
}

describe('QueuedByteChannel: send', () => {
  it('sends at once while bufferedAmount ≤ high, then queues in call order until the low signal', async () => {
    const { fake, ch } = setup();
    const a = track(ch.send(msg(1))); // 0 → 60
    const b = track(ch.send(msg(2))); // 60 ≤ 100: 60 → 120
    const c = track(ch.send(msg(3))); // 120 > 100: waits
    const d = track(ch.send(msg(4)));
    await settle();
    expect(ids(fake)).toEqual([1, 2]);
    expect([a.state, b.state, c.state, d.state]).toEqual(['resolved', 'resolved', 'pending', 'pending']);
    expect(fake.ownNow).toEqual([true, true, false, false]);
    expect(ch.bufferedAmount).toBe(120);

    // below the high-water mark but above the low one, without the low signal: still waiting
    fake.drain(30);
    await settle();
    expect(ids(fake)).toEqual([1, 2]);
    expect(c.state).toBe('pending');

    // the low signal: the queue resumes in call order, as far as there is room
    fake.drain(70); // 90 → 20
    // a send made now must not overtake the queued ones, though the buffer has room
    const e = track(ch.send(msg(5)));
    expect(fake.ownNow.at(-1)).toBe(false);
    await settle();
    expect(ids(fake)).toEqual([1, 2, 3, 4]); // 20 → 80 → 140: 5 waits for the next low signal
    expect([c.state, d.state, e.state]).toEqual(['resolved', 'resolved', 'pending']);
    expect(fake.lowListeners.size).toBe(1);

    fake.drain(140);
    await settle();
    expect(ids(fake)).toEqual([1, 2, 3, 4, 5]);
    expect(e.state).toBe('resolved');
    expect(fake.lowListeners.size).toBe(0);
  });

  it('keeps waiting sends queued until the buffer has drained to the low-water mark', async () => {
    const { fake, ch } = setup();
    await ch.send(msg(1, 90));
    await ch.send(msg(2, 90)); // 180
    const sends = [3, 4, 5].map((i) => track(ch.send(msg(i, 90))));
    await settle();
    expect(ids(fake)).toEqual([1, 2]);
    expect(fake.lowListeners.size).toBe(1);

    fake.drain(170); // → 10: 3 goes (100), 4 fits (≤ 100 at its turn: 100 → 190), 5 waits again
    await settle();
    expect(ids(fake)).toEqual([1, 2, 3, 4]);
    expect(sends.map((s) => s.state)).toEqual(['resolved', 'resolved', 'pending']);

    fake.drain(180); // → 10
    await settle();
    expect(ids(fake)).toEqual([1, 2, 3, 4, 5]);
    expect(sends[2]?.state).toBe('resolved');
    expect(fake.lowListeners.size).toBe(0);
  });

  it.each(['closed', 'failed'] as const)('rejects every queued send when the transport turns %s', async (end) => {
    const { fake, ch } = setup();
    await ch.send(msg(1, 150)); // 150 > high
    const queued = [2, 3, 4].map((i) => track(ch.send(msg(i))));
    await settle();
    expect(fake.lowListeners.size).toBe(1);

    fake.end(end);
    await settle();
    expect(queued.map((q) => q.state)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const q of queued) expect((q.error as Error).message).toBe(`ended: ${end}`);
    expect(ids(fake)).toEqual([1]);
    expect(fake.lowListeners.size).toBe(0);

    // a low signal after the end sends nothing; a new send meets the precheck's error at once
    fake.drain(150);
    await expect(ch.send(msg(5))).rejects.toThrow(`send: transport is ${end}`);
    await settle();
    expect(ids(fake)).toEqual([1]);
  });

  it('checks again before a waiting send goes out: one whose transport ended meanwhile is rejected', async () => {
    const { fake, ch } = setup();
    await ch.send(msg(1, 150));
    const a = track(ch.send(msg(2)));
    await settle();
    fake.drain(150); // the low signal resumes the wait …
    fake.end('closed'); // … but the transport ends before the send goes out
    await settle();
    expect(a.state).toBe('rejected');
    expect((a.error as Error).message).toBe('send: transport is closed');
    expect(ids(fake)).toEqual([1]);
  });

  it('goes on when the buffer drained (or the low signal came) while the wait was being set up', async () => {
    for (const how of ['silently', 'signalled'] as const) {
      const { fake, ch } = setup();
      await ch.send(msg(1, 150));
      const listen = fake.onBufferedAmountLow.bind(fake);
      fake.onBufferedAmountLow = (listener) => {
        const off = listen(listener);
        fake.bufferedAmount = 0;
        if (how === 'signalled') listener();
        return off;
      };
      const a = track(ch.send(msg(2)));
      await settle();
      expect(a.state, how).toBe('resolved');
      expect(ids(fake), how).toEqual([1, 2]);
      expect(fake.lowListeners.size, how).toBe(0);
    }
  });

  it('rejects a send the precheck refuses, and the queue goes on after it', async () => {
    const { fake, ch } = setup();
    await expect(ch.send(new Uint8Array(0))).rejects.toThrow('empty');
    await ch.send(msg(1, 150));
    const a = track(ch.send(msg(2)));
    await expect(ch.send(new Uint8Array(0))).rejects.toThrow('empty');
    fake.drain(150);
    await settle();
    expect(a.state).toBe('resolved');
    expect(ids(fake)).toEqual([1, 2]);
  });

  it('takes the bytes (`own`) when send is called, so the caller may reuse its buffer', async () => {
    const { fake, ch } = setup();
    await ch.send(msg(1, 150));
    const buf = msg(2);
    const p = ch.send(buf);
    buf.fill(9);
    fake.drain(150);
    await p;
    expect(fake.sent[1]).toEqual([...msg(2)]);
  });
});

describe('QueuedByteChannel: messages$', () => {
  it('hands early messages (at most EARLY_MESSAGES_MAX) to the first subscriber only, then live ones to all', () => {
    const { ch } = setup();
    for (let i = 0; i < EARLY_MESSAGES_MAX + 5; i++) ch.deliver(Uint8Array.of(i & 0xff, i >> 8));
    const first: number[] = [];
    const second: number[] = [];
    ch.messages$.subscribe((m) => first.push((m[0] ?? 0) | ((m[1] ?? 0) << 8)));
    expect(first.length).toBe(EARLY_MESSAGES_MAX);
    expect(first).toEqual(Array.from({ length: EARLY_MESSAGES_MAX }, (_, i) => i));
    ch.messages$.subscribe((m) => second.push(m[0] ?? -1));
    expect(second).toEqual([]);
    const live = Uint8Array.of(7, 0);
    ch.deliver(live);
    expect(first.at(-1)).toBe(7);
    expect(second).toEqual([7]);
  });

  it('completes current subscribers, and a later one after the early messages', async () => {
    const { ch } = setup();
    const got = firstValueFrom(ch.messages$.pipe(toArray()));
    ch.deliver(Uint8Array.of(1));
    ch.complete();
    expect(await got).toEqual([Uint8Array.of(1)]);

    const other = setup().ch;
    other.deliver(Uint8Array.of(2));
    other.deliver(Uint8Array.of(3));
    other.complete();
    expect(await firstValueFrom(other.messages$.pipe(toArray()))).toEqual([Uint8Array.of(2), Uint8Array.of(3)]);
    // an unsubscribed subscriber gets nothing more
    const third = setup().ch;
    const seen: Uint8Array[] = [];
    third.messages$.subscribe((m) => seen.push(m)).unsubscribe();
    third.deliver(Uint8Array.of(4));
    expect(seen).toEqual([]);
  });
});
