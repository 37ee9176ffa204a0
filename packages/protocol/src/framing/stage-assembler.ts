import { ErrorCode, ProtocolError } from '../errors.ts';
import type { DecodedStageChunk } from './stage-chunks.ts';

/**
 * Collects the decoded chunks of one stage into the stage's token array, in any arrival order.
 * A chunk seen before (a replay, or a retransmission racing its original) is refused with
 * ERR_DUPLICATE; a chunk that overlaps tokens another chunk already set, or that belongs to
 * another stage, is refused with ERR_MALFORMED. Nothing is written on refusal.
 */
export class StageAssembler {
  readonly stage: number;
  readonly size: number;
  /** The stage's tokens; meaningful where `has(k)`. */
  readonly tokens: Uint32Array;
  private readonly filled: Uint8Array;
  private readonly seen = new Set<number>();
  private filledCount = 0;
  private lastSeen = false;

  constructor(stage: number, size: number) {
    if (!Number.isInteger(size) || size < 1) throw new ProtocolError(ErrorCode.InvalidArgument, `stage size must be ≥ 1, got ${size}`);
    this.stage = stage;
    this.size = size;
    this.tokens = new Uint32Array(size);
    this.filled = new Uint8Array(size);
  }

  accept(chunk: DecodedStageChunk): void {
    const { header, offset, tokens } = chunk;
    if (header.stage !== this.stage) {
      throw new ProtocolError(ErrorCode.Malformed, `chunk of stage ${header.stage} offered to stage ${this.stage}`);
    }
    if (this.seen.has(header.chunkIndex)) {
      throw new ProtocolError(ErrorCode.Duplicate, `stage ${this.stage} chunk ${header.chunkIndex} already received`);
    }
    if (offset + tokens.length > this.size) {
      throw new ProtocolError(ErrorCode.Malformed, `chunk ${header.chunkIndex} runs past the end of stage ${this.stage}`);
    }
    for (let k = 0; k < tokens.length; k++) {
      if (this.filled[offset + k]) {
        throw new ProtocolError(ErrorCode.Malformed, `chunk ${header.chunkIndex} overlaps tokens already received in stage ${this.stage}`);
      }
    }
    this.seen.add(header.chunkIndex);
    this.tokens.set(tokens, offset);
    this.filled.fill(1, offset, offset + tokens.length);
    this.filledCount += tokens.length;
    if (header.last) this.lastSeen = true;
  }

  /** True once every token of the stage has arrived. */
  get complete(): boolean {
    return this.filledCount === this.size;
  }

  get received(): number {
    return this.filledCount;
  }

  /** Whether the stage's k-th token has arrived. */
  has(k: number): boolean {
    return this.filled[k] === 1;
  }

  /** Whether the last chunk arrived (then the chunk count is known: chunkIndex + 1). */
  get sawLastChunk(): boolean {
    return this.lastSeen;
  }
}
