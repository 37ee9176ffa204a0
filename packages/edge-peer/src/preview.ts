import { UNKNOWN, type ImageTokenizer, type LogitsPrediction, type PlanarImage } from '@unimic/models';
import type { SizedGrid } from './edge-peer.ts';

/*
 * Renders what the edge holds at any moment: the tokens it knows, with the cells it does not
 * know yet filled by the masked model's most likely token (digit by digit), then detokenized.
 * This is the progressive preview; the final image has no filled cells.
 */

export interface FillModel {
  readonly planes: { readonly count: number; readonly sizes: readonly number[]; join(d: ArrayLike<number>, at: number, stride: number): number };
  predictStage(grid: Int32Array, positions: ArrayLike<number>): Promise<LogitsPrediction>;
}

/** Fills the UNKNOWN cells of a 16x16 grid with the model's argmax. */
export async function fillUnknown(model: FillModel, grid: Int32Array): Promise<Int32Array> {
  const unknown: number[] = [];
  grid.forEach((t, i) => t === UNKNOWN && unknown.push(i));
  const out = Int32Array.from(grid);
  if (unknown.length === 0) return out;
  const pred = await model.predictStage(grid, unknown);
  const K = model.planes.count;
  const digits = new Uint32Array(unknown.length * K);
  for (let k = 0; k < K; k++) {
    const L = model.planes.sizes[k] as number;
    const logits = await pred.planeLogits(k, digits);
    for (let i = 0; i < unknown.length; i++) {
      let best = 0;
      for (let j = 1; j < L; j++) if ((logits[i * L + j] as number) > (logits[i * L + best] as number)) best = j;
      digits[i * K + k] = best;
    }
  }
  unknown.forEach((cell, i) => (out[cell] = model.planes.join(digits, i * K, 1)));
  return out;
}

export class PreviewRenderer {
  constructor(
    private readonly tokenizer: ImageTokenizer,
    private readonly model: FillModel,
  ) {}

  /**
   * `grid` may be a canvas larger than the model's 16x16 (outpainting): its unknown cells are
   * filled window by window (16x16 blocks anchored at the canvas corners).
   */
  async render(grid: SizedGrid): Promise<PlanarImage> {
    const { width, height } = grid;
    const tokens = Int32Array.from(grid.tokens);
    for (const [ox, oy] of windows(width, height)) {
      const win = new Int32Array(256);
      for (let i = 0; i < 256; i++) win[i] = tokens[((i >> 4) + oy) * width + (i & 15) + ox] as number;
      if (!win.includes(UNKNOWN)) continue;
      const filled = await fillUnknown(this.model, win);
      for (let i = 0; i < 256; i++) tokens[((i >> 4) + oy) * width + (i & 15) + ox] = filled[i] as number;
    }
    return this.tokenizer.decode({ width, height, tokens });
  }
}

function windows(width: number, height: number): [number, number][] {
  const xs = width > 16 ? [0, width - 16] : [0];
  const ys = height > 16 ? [0, height - 16] : [0];
  return ys.flatMap((y) => xs.map((x): [number, number] => [x, y]));
}
