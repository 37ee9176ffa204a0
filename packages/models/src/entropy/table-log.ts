import type { FrequencyTable } from '@unimic/protocol';
import type { StageEntropyModel, StagePrediction } from './types.ts';

/*
 * A witness for bit-exactness across peers: wraps a model and records a hash of every table it
 * hands out, keyed by (stage call, position in stage, plane). The encoder and the decoder of the
 * same stream must record identical logs; comparing them pins a desync to the exact table, where a
 * failed checksum would only say "somewhere in this chunk".
 */

/** FNV-1a over the cumulative table: 32 bits, enough to tell tables apart in a test. */
export function tableHash(table: FrequencyTable): number {
  let h = 0x811c9dc5 ^ table.precision;
  const cdf = table.cdf;
  for (let i = 0; i < cdf.length; i++) {
    const v = cdf[i] as number;
    h = Math.imul(h ^ (v & 0xffff), 0x01000193);
    h = Math.imul(h ^ (v >>> 16), 0x01000193);
  }
  return h >>> 0;
}

export class TableLog {
  /** key `${call}:${index}:${plane}` → table hash. */
  readonly entries = new Map<string, number>();
  private calls = 0;

  /** The same model, recording the tables it gives out. */
  wrap(model: StageEntropyModel): StageEntropyModel {
    return {
      name: model.name,
      planes: model.planes,
      predictStage: async (grid, positions, text) => this.wrapPrediction(await model.predictStage(grid, positions, text), this.calls++),
    };
  }

  private wrapPrediction(p: StagePrediction, call: number): StagePrediction {
    const record = (i: number, k: number, t: FrequencyTable) => {
      this.entries.set(`${call}:${i}:${k}`, tableHash(t));
      return t;
    };
    return {
      size: p.size,
      tablesForTokens: async (tokens) => {
        const at = await p.tablesForTokens(tokens);
        return (i, k) => record(i, k, at(i, k));
      },
      planeTables: async (plane, digits) => {
        const at = await p.planeTables(plane, digits);
        return (i) => record(i, plane, at(i));
      },
    };
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.entries);
  }
}
