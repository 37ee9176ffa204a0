import type { FrequencyTable, TokenPlanes } from '@unimic/protocol';

/** A grid cell whose token the model does not know (yet): MASK for the model. */
export const UNKNOWN = -1;

/** Table of plane `plane` of the stage's i-th token. */
export type StageTableAt = (indexInStage: number, plane: number) => FrequencyTable;

/**
 * What a model predicts for one progressive stage, given the tokens of earlier stages. Both peers
 * build it from the same known grid, so both get the same tables bit for bit.
 */
export interface StagePrediction {
  /** Number of positions in the stage. */
  readonly size: number;
  /** Encoder: the table of every symbol of the stage, given its true tokens (schedule order). */
  tablesForTokens(tokens: ArrayLike<number>): Promise<StageTableAt>;
  /**
   * Decoder: the tables of plane `plane` for every position of the stage, given the digits
   * decoded so far, token-major (`digits[i·planes + k]`, k < plane; the rest is ignored).
   * Positions whose digits are not decoded get tables too; nobody reads them.
   */
  planeTables(plane: number, digits: Uint32Array): Promise<(indexInStage: number) => FrequencyTable>;
}

/** A model that codes a grid stage by stage (masked, text-conditional, uniform, static). */
export interface StageEntropyModel {
  /** For logs and the wire's model list. */
  readonly name: string;
  readonly planes: TokenPlanes;
  /**
   * `grid`: raster token ids, UNKNOWN where not known; `positions`: the stage's cells (raster
   * indices, schedule order); `text`: BPE ids of the caption (text-conditional models only; the
   * others ignore it, and the text model codes without a caption when it is absent or empty).
   */
  predictStage(grid: Int32Array, positions: ArrayLike<number>, text?: readonly number[]): Promise<StagePrediction>;
}

/** A prediction that also exposes raw logits: what a generator samples from (not for coding). */
export interface LogitsPrediction extends StagePrediction {
  /** Logits of plane `plane` for every position, [size × planeSize], given digits < plane (token-major). */
  planeLogits(plane: number, digits: Uint32Array): Promise<Float32Array>;
}
