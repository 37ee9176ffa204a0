import { Observable } from 'rxjs';
import type { Subscriber, Unsubscribable } from 'rxjs';
import type { ByteChannel, TransportState } from './types.ts';

/*
 * The `ByteChannel` logic shared by WeriftPeer (Node) and BrowserPeer (page): inbound messages
 * held for the first subscriber, and `send` with backpressure (call order kept, waiting for the
 * channel's bufferedamountlow or the end of the transport). PeerLifecycle supplies the channel
 * through a `ChannelAdapter`; no werift and no Node API here, so the browser entry may import it.
 */

/** Inbound messages kept for a channel nobody has subscribed to yet. */
export const EARLY_MESSAGES_MAX = 1024;

/** The underlying data channel and its peer, as the shared channel needs them. */
export interface ChannelAdapter<P extends Uint8Array = Uint8Array> {
  /** The channel's bufferedAmount (bytes). */
  readonly bufferedAmount: number;
  /**
   * The bytes `send` will hand to the channel for `bytes`: a private copy wherever the caller
   * could reuse its buffer before the channel has copied it. `now`: they go out in this call.
   */
  own(bytes: Uint8Array, now: boolean): P;
  /** The channel's raw send. */
  send(data: P): void;
  /** Calls `listener` when the channel's bufferedAmount drains to its low threshold; returns the unsubscribe. */
  onBufferedAmountLow(listener: () => void): () => void;
  /** The peer's state; replays the current one to a new subscriber. */
  readonly state$: Observable<TransportState>;
  /** The error a send of `size` bytes would meet now (not open, empty, too large), or null. */
  sendError(size: number): Error | null;
  /** The error a waiting send is rejected with when the transport ends in `state`. */
  endedError(state: 'closed' | 'failed'): Error;
}

export class QueuedByteChannel<P extends Uint8Array = Uint8Array> implements ByteChannel {
  readonly messages$: Observable<Uint8Array>;
  /** Messages that arrived before anyone subscribed (bounded), handed to the first subscriber. */
  private early: Uint8Array[] | null = [];
  private readonly subscribers = new Set<Subscriber<Uint8Array>>();
  private completed = false;
  /** Sends waiting for room, in call order. */
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /**
   * `high`: `send` resolves at once while bufferedAmount ≤ this; `low`: a waiting send resumes once
   * it has drained to this (the channel's bufferedAmountLowThreshold, which the peer sets).
   */
  constructor(
    readonly label: 'control' | 'tokens',
    private readonly io: ChannelAdapter<P>,
    private readonly high: number,
    private readonly low: number,
  ) {
    this.messages$ = new Observable<Uint8Array>((subscriber) => {
      const early = this.early;
      this.early = null;
      if (early) for (const m of early) subscriber.next(m);
      if (this.completed) {
        subscriber.complete();
        return;
      }
      this.subscribers.add(subscriber);
      return () => this.subscribers.delete(subscriber);
    });
  }

  get bufferedAmount(): number {
    return this.io.bufferedAmount;
  }

  send(bytes: Uint8Array): Promise<void> {
    const err = this.io.sendError(bytes.byteLength);
    if (err) return Promise.reject(err);
    const direct = this.pending === 0 && this.io.bufferedAmount <= this.high;
    const data = this.io.own(bytes, direct);
    if (direct) {
      this.io.send(data);
      return Promise.resolve();
    }
    this.pending++;
    const p = this.tail.then(async () => {
      try {
        await this.waitForRoom();
        const late = this.io.sendError(data.byteLength);
        if (late) throw late;
        this.io.send(data);
      } finally {
        this.pending--;
      }
    });
    this.tail = p.catch(() => undefined);
    return p;
  }

  private waitForRoom(): Promise<void> {
    if (this.io.bufferedAmount <= this.high) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let offLow: (() => void) | null = null;
      let stateSub: Unsubscribable | null = null;
      const release = () => {
        offLow?.();
        offLow = null;
        stateSub?.unsubscribe();
        stateSub = null;
      };
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        release();
        fn();
      };
      offLow = this.io.onBufferedAmountLow(() => settle(resolve));
      // the state replays synchronously: an ended transport settles before `stateSub` is assigned
      if (!settled) {
        stateSub = this.io.state$.subscribe((s) => {
          if (s === 'closed' || s === 'failed') settle(() => reject(this.io.endedError(s)));
        });
      }
      if (settled) release();
      // it may have drained between the check above and the listener
      else if (this.io.bufferedAmount <= this.low) settle(resolve);
    });
  }

  /** Called by the owner for each binary message; `msg` must be the subscribers' own bytes. */
  deliver(msg: Uint8Array): void {
    if (this.early) {
      if (this.early.length < EARLY_MESSAGES_MAX) this.early.push(msg);
      return;
    }
    for (const s of [...this.subscribers]) s.next(msg);
  }

  complete(): void {
    this.completed = true;
    for (const s of [...this.subscribers]) s.complete();
    this.subscribers.clear();
  }
}
