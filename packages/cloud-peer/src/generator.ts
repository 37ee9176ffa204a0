import type { LogitsPrediction, TokenPlanes } from './deps.ts';

/*
 * What the cloud peer asks of a generative model, narrow enough that a bigger model (a Show-o)
 * can replace the default behind it. Image generation is iterative (MaskGIT): each step commits a
 * set of tokens, which the session codes and streams at once; text generation yields tokens as
 * they come. Both are deterministic for a given seed.
 */

/** A bidirectional masked-token model over a fixed grid: all a MaskGIT loop needs. */
export interface MaskedPredictor {
  readonly planes: TokenPlanes;
  /** Cells of the model's grid (16x16 = 256 for the default pack). */
  readonly cells: number;
  predictStage(grid: Int32Array, positions: ArrayLike<number>, text?: readonly number[]): Promise<LogitsPrediction>;
}

export interface ImageGenerationRequest {
  /** Cells to generate (raster indices of the model grid). */
  readonly target: Uint16Array;
  /**
   * The context as known now: token ids, UNKNOWN where not (yet) known. Read again before every
   * step, so context that arrives while generation runs is used by the steps after it.
   */
  readonly context: () => Int32Array;
  /** BPE ids of the prompt, if any. */
  readonly text?: readonly number[];
  /** MaskGIT iterations (≥ 1). */
  readonly steps: number;
  /** Sampling temperature (> 0; 1 = the model's distribution). */
  readonly temperature?: number;
  /** Randomness of which sampled tokens are kept early on (MaskGIT's choice temperature). */
  readonly choiceTemperature?: number;
  readonly seed: number;
}

export interface ImageStep {
  /** 0-based step index. */
  readonly step: number;
  readonly steps: number;
  /** Cells committed at this step (raster), and their tokens. */
  readonly positions: Uint16Array;
  readonly tokens: Int32Array;
}
