import type { LogitsPrediction, TokenPlanes } from './deps.ts';

/*
 * What the cloud peer asks of a generative model, narrow enough that a bigger model (a Show-o)
 * can replace the default behind it. Image generation is iterative (MaskGIT): each step commits a
 * set of tokens, which the session codes and streams at once; text generation yields tokens as
 * they come. Both are deterministic for a given seed.
 */

/**
 * What a MaskGIT loop needs of an image model: one token for each asked cell, drawn from the
 * model's distribution given the grid as known (UNKNOWN = masked) and an optional prompt.
 */
export interface TokenSampler {
  /** Cells of the model's grid (16x16 = 256 for the default pack). */
  readonly cells: number;
  sample(grid: Int32Array, positions: readonly number[], draw: SampleOptions): Promise<SampledTokens>;
}

export interface SampleOptions {
  /** BPE ids of the prompt, if any. */
  readonly text?: readonly number[];
  /** > 0; 1 = the model's distribution. */
  readonly temperature: number;
  /** The generation's random stream: uniform in (0, 1). */
  readonly uniform: () => number;
  /**
   * Classifier-free guidance scale g ≥ 0: logits = cond + g·(cond − uncond), the unconditional pass
   * seeing no prompt. 0 (the default) or no prompt = one conditional pass. Samplers that cannot
   * drop the prompt ignore it.
   */
  readonly guidance?: number;
}

export interface SampledTokens {
  readonly tokens: Int32Array;
  /** log p(token) at temperature 1: the confidence MaskGIT ranks cells by. */
  readonly logp: Float64Array;
}

/** A masked-token model with a factorized (per-digit) output, such as the pack's entropy models. */
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
  /** Classifier-free guidance scale (≥ 0; see SampleOptions.guidance). */
  readonly guidance?: number;
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

/** Streams answer tokens (BPE ids, a piece at a time) for an image and a question. */
export interface AnswerGenerator {
  answer(grid: Int32Array, question: readonly number[], seed: number): AsyncIterable<readonly number[]>;
}
