import { ErrorCode, ProtocolError, TableBuilder, singlePlane, tableFromCounts, uniformTable, type FrequencyTable } from '@unimic/protocol';
import type { StageEntropyModel, StagePrediction } from './types.ts';

/*
 * Models that ignore context: the same table for every token. They are the baselines the learned
 * models are measured against, and the fallback when a peer has no learned model.
 */

function constantPrediction(size: number, table: FrequencyTable): StagePrediction {
  return {
    size,
    tablesForTokens: async () => () => table,
    planeTables: async () => () => table,
  };
}

/** Every id equally likely: log2(codebook) bits per token. */
export function uniformModel(codebookSize: number): StageEntropyModel {
  const table = uniformTable(codebookSize);
  return {
    name: 'uniform',
    planes: singlePlane(codebookSize),
    predictStage: async (_grid, positions) => constantPrediction(positions.length, table),
  };
}

/**
 * The unigram histogram of training tokens (add-one smoothed so that no id is impossible): the
 * pack's `entropy.static.counts` asset, `{ "counts": [n0, n1, …] }`.
 */
export function staticModel(countsJson: Uint8Array, codebookSize: number): StageEntropyModel {
  let counts: unknown;
  try {
    counts = (JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(countsJson)) as { counts?: unknown }).counts;
  } catch (err) {
    throw new ProtocolError(ErrorCode.Malformed, `static counts: ${(err as Error).message}`);
  }
  if (!Array.isArray(counts) || counts.length !== codebookSize || !counts.every((c) => Number.isInteger(c) && c >= 0 && c < 2 ** 40)) {
    throw new ProtocolError(ErrorCode.InvalidField, `static counts: need ${codebookSize} non-negative integers`);
  }
  const table = tableFromCounts(Float64Array.from(counts as number[], (c) => c + 1));
  return {
    name: 'static',
    planes: singlePlane(codebookSize),
    predictStage: async (_grid, positions) => constantPrediction(positions.length, table),
  };
}

/** Builders for a factorized model's planes, one per distinct plane size. */
export function planeBuilders(sizes: readonly number[]): TableBuilder[] {
  const bySize = new Map<number, TableBuilder>();
  return sizes.map((s) => {
    let b = bySize.get(s);
    if (!b) bySize.set(s, (b = new TableBuilder(s)));
    return b;
  });
}
