import { SESSION_LIMITS } from './limits.ts';
import type { ReceivedChunk } from './receiver.ts';

/*
 * Chunks that arrive before their request's `task` message: the tokens and control channels are
 * independent, so a chunk can overtake its task (most of all when a control packet is lost and
 * retransmitted). Refusing them would stall the upload; holding them unboundedly would let any
 * peer fill memory with chunks for requests that never come. So: held within bounds, dropped
 * when too old, handed over when the task arrives.
 */

export interface EarlyChunkLimits {
  readonly maxChunks: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
}

export class EarlyChunks {
  private readonly held = new Map<number, { at: number; chunks: ReceivedChunk[] }>();
  private chunks = 0;
  private bytes = 0;

  constructor(
    private readonly limits: EarlyChunkLimits = SESSION_LIMITS.earlyChunks,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** What is held now. */
  get size(): { chunks: number; bytes: number } {
    return { chunks: this.chunks, bytes: this.bytes };
  }

  /** Holds a chunk of request `message`; false when the bounds refuse it. */
  hold(message: number, chunk: ReceivedChunk): boolean {
    const now = this.now();
    for (const [id, e] of this.held) if (now - e.at > this.limits.maxAgeMs) this.drop(id);
    if (this.chunks + 1 > this.limits.maxChunks || this.bytes + chunk.bytes.length > this.limits.maxBytes) return false;
    const entry = this.held.get(message) ?? { at: now, chunks: [] };
    // a copy: the transport may reuse the buffer it handed us
    entry.chunks.push({ ...chunk, bytes: Uint8Array.from(chunk.bytes) });
    this.held.set(message, entry);
    this.chunks++;
    this.bytes += chunk.bytes.length;
    return true;
  }

  /** The chunks held for request `message`, in arrival order; they are no longer held. */
  take(message: number): ReceivedChunk[] {
    const entry = this.held.get(message);
    if (!entry) return [];
    this.drop(message);
    return entry.chunks;
  }

  private drop(message: number) {
    const entry = this.held.get(message);
    if (!entry) return;
    this.held.delete(message);
    this.chunks -= entry.chunks.length;
    this.bytes -= entry.chunks.reduce((a, c) => a + c.bytes.length, 0);
  }
}
