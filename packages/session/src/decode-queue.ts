import { Subject, type Subscription } from 'rxjs';
import { decodeInArrivalOrder } from './operators/decode-in-arrival-order.ts';
import type { DecodeResult, ReceivedChunk, StageReceiver } from './receiver.ts';

/*
 * One request's inbox in front of its StageReceiver: chunks (and "retry" when a stage's cells or
 * context became known) are decoded one at a time in arrival order, and the owner can wait until
 * nothing is left, which is how the edge puts decoding the cloud's steps before coding more of
 * its own upload.
 */
export class DecodeQueue {
  private readonly inbox = new Subject<ReceivedChunk | null>();
  private readonly sub: Subscription;
  private queued = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(receiver: StageReceiver, onResult: (r: DecodeResult) => void) {
    this.sub = this.inbox.pipe(decodeInArrivalOrder((c) => (c ? receiver.push(c) : receiver.drain()))).subscribe((r) => {
      if (--this.queued === 0) this.wakeIdle();
      onResult(r);
    });
  }

  push(chunk: ReceivedChunk): void {
    this.enqueue(chunk);
  }

  /** Retries the chunks that wait (a stage's cells or context became known). */
  retry(): void {
    this.enqueue(null);
  }

  /** Resolves when every item pushed so far has been decoded (or waits for its stage), or on close. */
  idle(): Promise<void> {
    return this.queued === 0 || this.closed ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.wakeIdle();
    this.sub.unsubscribe();
  }

  private enqueue(item: ReceivedChunk | null) {
    if (this.closed) return;
    this.queued++;
    this.inbox.next(item);
  }

  private wakeIdle() {
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
