import { ErrorCode, ProtocolError, RangeDecoder, RangeEncoder, mixedRadixPlanes, tokenChecksum, type TokenPlanes } from '@unimic/protocol';
import type { InferenceSessionLike, Runtime, TensorLike } from '../inference.ts';
import type { LoadedPack } from '../load.ts';
import { yieldToEventLoop } from '../yield.ts';
import { planeBuilders } from './context-free.ts';

/*
 * The autoregressive entropy model: a causal Transformer over the grid in raster order, so the
 * table of cell i depends on cells < i. It is the rate reference the progressive (masked) models
 * are compared with, not a streaming coder: decoding needs one backbone run per cell. A grid is
 * one range-coded stream, each token as its five FSQ digits (token-major here: digit k of cell i
 * depends on digits < k of the same cell).
 *
 * Bit-exactness: row i of the backbone output depends only on tokens < i — exactly, because the
 * causal mask makes the attention weights of later cells 0 — so the encoder's single run over the
 * true grid and the decoder's run over a grid known up to i−1 give the same row i. The head runs on
 * one position at a time on both peers.
 */

export interface CodedGrid {
  readonly bytes: Uint8Array;
  /** CRC-32C of the token ids: the decoder checks it. */
  readonly checksum: number;
  /** Ideal code length, −Σ log2 p, for rate reports. */
  readonly idealBits: number;
}

export class AutoregressiveModel {
  readonly planes: TokenPlanes;
  private readonly builders;
  private readonly vocab: number;

  private constructor(
    private readonly runtime: Runtime,
    private readonly backbone: InferenceSessionLike,
    private readonly head: InferenceSessionLike,
    levels: readonly number[],
    readonly cells: number,
  ) {
    this.planes = mixedRadixPlanes(levels);
    this.builders = planeBuilders(levels);
    this.vocab = levels.reduce((a, b) => a * b, 1);
  }

  static async fromPack(pack: LoadedPack, runtime: Runtime): Promise<AutoregressiveModel> {
    const bb = pack.files.get('entropy.autoregressive.backbone');
    const hd = pack.files.get('entropy.autoregressive.head');
    const levels = pack.manifest.codebook.levels;
    if (!bb || !hd) throw new ProtocolError(ErrorCode.InvalidField, `pack ${pack.manifest.id} was loaded without the autoregressive model`);
    if (!levels) throw new ProtocolError(ErrorCode.InvalidField, 'factorized entropy models need FSQ levels');
    const { width, height, downsample } = pack.manifest.image;
    return new AutoregressiveModel(runtime, await runtime.createSession(bb), await runtime.createSession(hd), levels, (width / downsample) * (height / downsample));
  }

  private async features(grid: Int32Array): Promise<Float32Array> {
    const out = (await this.backbone.run({ tokens: this.runtime.tensor('int32', grid, [1, this.cells]) })).h;
    await yieldToEventLoop();
    if (!out || !(out.data instanceof Float32Array) || out.data.length % this.cells !== 0) {
      throw new ProtocolError(ErrorCode.InvalidField, 'autoregressive backbone: output h missing or misshapen');
    }
    return out.data;
  }

  private async headLogits(row: Float32Array, digits: Int32Array): Promise<Float32Array[]> {
    const out = await this.head.run({
      h: this.runtime.tensor('float32', row, [1, 1, row.length]),
      digits: this.runtime.tensor('int32', digits, [1, 1, digits.length]),
    });
    return this.planes.sizes.map((L, k) => {
      const t: TensorLike | undefined = out[`logits_d${k}`];
      if (!t || !(t.data instanceof Float32Array) || t.data.length !== L) throw new ProtocolError(ErrorCode.InvalidField, `autoregressive head: logits_d${k} misshapen`);
      return t.data;
    });
  }

  private table(k: number, logits: Float32Array) {
    return (this.builders[k] as ReturnType<typeof planeBuilders>[number]).fromLogits(logits);
  }

  async encodeGrid(grid: Int32Array): Promise<CodedGrid> {
    if (grid.length !== this.cells || !grid.every((t) => t >= 0 && t < this.vocab)) {
      throw new ProtocolError(ErrorCode.InvalidArgument, `need a grid of ${this.cells} token ids`);
    }
    const h = await this.features(grid);
    const d = h.length / this.cells;
    const K = this.planes.count;
    const enc = new RangeEncoder(4096);
    let idealBits = 0;
    for (let i = 0; i < this.cells; i++) {
      const digits = Int32Array.from({ length: K }, (_, k) => this.planes.digit(grid[i] as number, k));
      const logits = await this.headLogits(h.slice(i * d, (i + 1) * d), digits);
      for (let k = 0; k < K; k++) {
        const t = this.table(k, logits[k] as Float32Array);
        const s = digits[k] as number;
        idealBits += t.precision - Math.log2((t.cdf[s + 1] as number) - (t.cdf[s] as number));
        enc.encode(s, t);
      }
    }
    return { bytes: enc.finish(), checksum: tokenChecksum(grid), idealBits };
  }

  /** Decodes a grid; ERR_CORRUPT_STREAM / ERR_MALFORMED / ERR_CHECKSUM on bad bytes, never wrong tokens. */
  async decodeGrid(bytes: Uint8Array, checksum: number, onProgress?: (cells: number) => void): Promise<Int32Array> {
    const grid = new Int32Array(this.cells);
    const dec = new RangeDecoder(bytes);
    const K = this.planes.count;
    for (let i = 0; i < this.cells; i++) {
      const h = await this.features(grid); // cells ≥ i are 0 here and do not reach row i
      const d = h.length / this.cells;
      const row = h.slice(i * d, (i + 1) * d);
      const digits = new Int32Array(K);
      for (let k = 0; k < K; k++) {
        const logits = await this.headLogits(row, digits);
        digits[k] = dec.decode(this.table(k, logits[k] as Float32Array));
      }
      grid[i] = this.planes.join(digits, 0, 1);
      onProgress?.(i + 1);
    }
    dec.finish();
    if (tokenChecksum(grid) !== checksum) throw new ProtocolError(ErrorCode.ChecksumMismatch, 'autoregressive grid fails its checksum');
    return grid;
  }
}
