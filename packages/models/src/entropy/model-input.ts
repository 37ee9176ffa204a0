import { ErrorCode, ProtocolError } from '@unimic/protocol';
import { UNKNOWN } from './types.ts';

/**
 * A grid as a masked-token model reads it: UNKNOWN cells become the MASK id (= the codebook size,
 * one past the last token); anything that is neither a token nor UNKNOWN is refused, so a bad
 * cell can never reach a model as some other token.
 */
export function modelInputTokens(grid: Int32Array, cells: number, codebook: number): Int32Array {
  if (grid.length !== cells) throw new ProtocolError(ErrorCode.InvalidArgument, `grid of ${grid.length} cells, model expects ${cells}`);
  const tokens = new Int32Array(cells);
  for (let i = 0; i < cells; i++) {
    const t = grid[i] as number;
    if (t === UNKNOWN) tokens[i] = codebook;
    else if (Number.isInteger(t) && t >= 0 && t < codebook) tokens[i] = t;
    else throw new ProtocolError(ErrorCode.InvalidArgument, `grid cell ${i} holds ${t}`);
  }
  return tokens;
}
