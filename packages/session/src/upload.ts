import { UNKNOWN } from '@unimic/models';
import type { ChunkStore } from './chunk-store.ts';
import { uploadContextStages, uploadPrefix, uploadStageContext } from './context.ts';
import type { RequestCoding } from './models.ts';
import type { RequestPlan } from './plan.ts';
import { StageReceiver, type DecodeResult, type ReceivedChunk, type ReceiverLimits } from './receiver.ts';

/*
 * The upload of one request: the edge codes the image's tokens stage by stage (UploadSender);
 * the cloud decodes them progressively as they land, in any order (UploadReceiver). Both sides
 * take each stage's context from context.ts.
 */

export class UploadSender {
  constructor(
    private readonly plan: RequestPlan,
    /** The image's tokens on the model grid. */
    private readonly grid: Int32Array,
    private readonly coding: RequestCoding,
    private readonly store: ChunkStore,
  ) {
    if (plan.upStream === null) throw new RangeError(`${plan.task.task} uploads no image`);
  }

  get stages(): number {
    return this.plan.upStages.length;
  }

  /** The cells of stage `s` (may be none: the stage is then skipped, and counts as complete). */
  cells(s: number): Uint16Array {
    return this.plan.upStages[s] as Uint16Array;
  }

  /**
   * On a partially reliable session the stages the others are coded against must not be lost:
   * they go on the reliable control channel.
   */
  needsReliable(s: number): boolean {
    return this.plan.reliableStages !== null && s < this.plan.reliableStages;
  }

  /** Codes stage `s` (kept in the store for NACKs). */
  code(s: number): Promise<Uint8Array[]> {
    const positions = this.cells(s);
    return this.store.code({
      models: this.coding.models,
      ...(this.coding.contextFreeMaxCells !== undefined ? { contextFreeMaxCells: this.coding.contextFreeMaxCells } : {}),
      context: uploadStageContext(this.plan, this.grid, s),
      positions,
      tokens: Array.from(positions, (p) => this.grid[p] as number),
      ...(this.coding.text ? { text: this.coding.text } : {}),
      stream: this.plan.upStream as number,
      message: this.plan.task.requestId,
      stage: s,
    });
  }
}

export class UploadReceiver {
  /** The image's tokens received so far (UNKNOWN elsewhere). */
  readonly grid: Int32Array;
  /** Tokens decoded so far. */
  tokens = 0;
  private readonly receiver: StageReceiver;

  constructor(
    private readonly plan: RequestPlan,
    coding: RequestCoding,
    limits?: ReceiverLimits,
  ) {
    this.grid = new Int32Array(plan.side * plan.side).fill(UNKNOWN);
    this.receiver = new StageReceiver(
      {
        positionsOf: (s) => plan.upStages[s],
        // stage s decodes once every stage it is coded against is complete
        contextFor: (s) => (this.completeStages() >= uploadContextStages(plan, s) ? uploadStageContext(plan, this.grid, s) : undefined),
        apply: (u) => {
          u.cells.forEach((c, j) => (this.grid[c] = u.tokens[j] as number));
          this.tokens += u.cells.length;
        },
      },
      coding.models,
      coding.text,
      Math.max(0, plan.upStages.length - 1),
      limits,
    );
  }

  /** The stage receiver, for a DecodeQueue. */
  get stageReceiver(): StageReceiver {
    return this.receiver;
  }

  push(chunk: ReceivedChunk): Promise<DecodeResult> {
    return this.receiver.push(chunk);
  }

  /** Leading upload stages complete (empty stages count as complete): what steps may be coded against. */
  completeStages(): number {
    // an empty stage (all its cells masked) never gets a chunk: it must not block the ones after it
    let n = 0;
    while (n < this.plan.upStages.length && (this.receiver.complete(n) || (this.plan.upStages[n] as Uint16Array).length === 0)) n++;
    return n;
  }

  /** Whether the leading `k` stages carry any cell (an image upload of which nothing arrived is no input). */
  hasCellsIn(k: number): boolean {
    return this.plan.upStages.slice(0, k).some((st) => st.length > 0);
  }

  /** The grid restricted to the first `k` stages: the upload as the edge can rebuild it. */
  prefix(k: number): Int32Array {
    return uploadPrefix(this.plan, this.grid, k);
  }
}
