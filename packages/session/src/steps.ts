import { ErrorCode, ProtocolError, subsetFromMask, subsetMask, type StepMessage } from '@unimic/protocol';
import { UNKNOWN } from '@unimic/models';
import type { ChunkStore } from './chunk-store.ts';
import { stepContext, stepsChain } from './context.ts';
import type { RequestCoding } from './models.ts';
import type { RequestPlan } from './plan.ts';
import { StageReceiver, type ReceiverLimits } from './receiver.ts';

/*
 * The generation steps of one request: the cloud codes each MaskGIT step as it is produced and
 * announces its cells in a `step` message (StepSender); the edge learns each step's cells from
 * that message and decodes its chunks as soon as the step's context is complete (StepReceiver).
 * A step names its cells as a subset of the target cells no earlier step named ("open" cells,
 * ascending), so both peers keep the same open list.
 */

/** One step as the generator produced it. */
export interface GeneratedStep {
  readonly step: number;
  readonly positions: Uint16Array;
  readonly tokens: ArrayLike<number>;
}

export class StepSender {
  private open: number[];
  /** Tokens of the steps coded so far (UNKNOWN elsewhere): what later steps are coded against. */
  private readonly committed: Int32Array;
  /** Steps coded so far. */
  sent = 0;

  constructor(
    private readonly plan: RequestPlan,
    private readonly coding: RequestCoding,
    private readonly store: ChunkStore,
  ) {
    this.open = Array.from(plan.target).sort((a, b) => a - b);
    this.committed = new Int32Array(plan.side * plan.side).fill(UNKNOWN);
  }

  /**
   * Codes one step against the upload as the edge can rebuild it (the first `upStages` stages of
   * `upload`) and the earlier steps; returns its `step` message and its chunks.
   */
  async code(step: GeneratedStep, upload: Int32Array, upStages: number): Promise<{ message: StepMessage; chunks: Uint8Array[] }> {
    if (step.step !== this.sent) throw new RangeError(`step ${step.step} after ${this.sent} steps`);
    // the step message names a set of cells, which the edge reads back ascending: code them in that order
    const order = Array.from(step.positions.keys()).sort((a, b) => (step.positions[a] as number) - (step.positions[b] as number));
    const positions = Uint16Array.from(order, (j) => step.positions[j] as number);
    const tokens = order.map((j) => step.tokens[j] as number);
    const chunks = await this.store.code({
      models: this.coding.models,
      ...(this.coding.contextFreeMaxCells !== undefined ? { contextFreeMaxCells: this.coding.contextFreeMaxCells } : {}),
      context: stepContext(this.plan, upload, upStages, this.committed),
      positions,
      tokens,
      ...(this.coding.text ? { text: this.coding.text } : {}),
      stream: this.plan.downStream,
      message: this.plan.task.requestId,
      stage: step.step,
    });
    const message: StepMessage = { type: 'step', requestId: this.plan.task.requestId, stream: this.plan.downStream, stage: step.step, upStages, cells: subsetMask(this.open, positions) };
    const named = new Set(positions);
    this.open = this.open.filter((c) => !named.has(c));
    positions.forEach((p, j) => (this.committed[p] = tokens[j] as number));
    this.sent++;
    return { message, chunks };
  }
}

export class StepReceiver {
  /** Generated tokens decoded so far, on the model window (UNKNOWN elsewhere). */
  readonly generated: Int32Array;
  private readonly steps = new Map<number, { readonly cells: Uint16Array; readonly upStages: number }>();
  private open: number[];
  /** Tokens of the complete steps: the earlier steps of the next one. */
  private readonly committed: Int32Array;
  private readonly receiver: StageReceiver;

  constructor(
    private readonly plan: RequestPlan,
    coding: RequestCoding,
    /** The image's tokens on the model grid (the edge's own; UNKNOWN for text-to-image). */
    private readonly upload: Int32Array,
    limits?: ReceiverLimits,
  ) {
    const cells = plan.side * plan.side;
    this.generated = new Int32Array(cells).fill(UNKNOWN);
    this.committed = new Int32Array(cells).fill(UNKNOWN);
    this.open = Array.from(plan.target).sort((a, b) => a - b);
    this.receiver = new StageReceiver(
      {
        positionsOf: (s) => this.steps.get(s)?.cells,
        contextFor: (s) => this.contextFor(s),
        apply: (u) => {
          u.cells.forEach((c, j) => (this.generated[c] = u.tokens[j] as number));
          if (u.complete) for (const p of this.steps.get(u.stage)?.cells ?? []) this.committed[p] = this.generated[p] as number;
        },
      },
      coding.models,
      coding.text,
      255,
      limits,
    );
  }

  /** The stage receiver, for a DecodeQueue. */
  get stageReceiver(): StageReceiver {
    return this.receiver;
  }

  /**
   * Takes a `step` message: its cells become known (chunks of the step may already wait: retry
   * the queue). Throws ProtocolError for a step out of order or cells that are not open.
   */
  announce(m: StepMessage): Uint16Array {
    if (m.stream !== this.plan.downStream) throw new ProtocolError(ErrorCode.InvalidField, `step on stream ${m.stream}, the request generates on ${this.plan.downStream}`);
    // steps come in order on the ordered control channel, each naming its cells among the open ones
    if (m.stage !== this.steps.size) throw new ProtocolError(ErrorCode.InvalidField, `step ${m.stage} announced after ${this.steps.size} steps`);
    if (m.upStages > this.plan.upStages.length) throw new ProtocolError(ErrorCode.InvalidField, `step ${m.stage} is coded against ${m.upStages} upload stages of ${this.plan.upStages.length}`);
    const cells = subsetFromMask(this.open, m.cells);
    const named = new Set(cells);
    this.open = this.open.filter((c) => !named.has(c));
    this.steps.set(m.stage, { cells, upStages: m.upStages });
    return cells;
  }

  /** The cells step `s` generates, once announced. */
  cellsOf(s: number): Uint16Array | undefined {
    return this.steps.get(s)?.cells;
  }

  /** Every target cell has its token. */
  generatedAll(): boolean {
    return this.plan.target.every((p) => this.generated[p] !== UNKNOWN);
  }

  /** Target cells without a token (lost on a partially reliable channel, or not generated yet). */
  missingCells(): number {
    return this.plan.target.filter((p) => this.generated[p] === UNKNOWN).length;
  }

  /** Generated tokens decoded so far. */
  decodedTokens(): number {
    return this.plan.target.length - this.missingCells();
  }

  private contextFor(s: number): Int32Array | undefined {
    const info = this.steps.get(s);
    if (!info) return undefined;
    if (stepsChain(this.plan)) for (let i = 0; i < s; i++) if (!this.receiver.complete(i)) return undefined;
    return stepContext(this.plan, this.upload, info.upStages, this.committed);
  }
}
