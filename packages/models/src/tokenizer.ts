import { ErrorCode, ProtocolError } from '@unimic/protocol';
import type { InferenceSessionLike, Runtime } from './inference.ts';
import type { LoadedPack } from './load.ts';
import type { ModelFile } from './manifest.ts';

/** An RGB image as planar float32 in [0, 1]: data[c·H·W + y·W + x]. */
export interface PlanarImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** A grid of token ids, raster order. */
export interface TokenGrid {
  readonly width: number;
  readonly height: number;
  readonly tokens: Int32Array;
}

/**
 * The pack's image tokenizer: image → token grid (the sender, once) and token grid → image (the
 * receiver, for previews and results). Lossy by design; everything after it is lossless.
 */
export class ImageTokenizer {
  private constructor(
    private readonly runtime: Runtime,
    private readonly encoder: InferenceSessionLike,
    private readonly decoder: InferenceSessionLike,
    private readonly encoderSpec: ModelFile,
    private readonly decoderSpec: ModelFile,
    readonly downsample: number,
    readonly codebookSize: number,
  ) {}

  static async create(pack: LoadedPack, runtime: Runtime): Promise<ImageTokenizer> {
    const spec = (role: 'tokenizer.encoder' | 'tokenizer.decoder') => {
      const m = pack.manifest.models.find((x) => x.role === role);
      const bytes = pack.files.get(role);
      if (!m || !bytes) throw new ProtocolError(ErrorCode.InvalidField, `pack ${pack.manifest.id} was loaded without ${role}`);
      return { m, bytes };
    };
    const enc = spec('tokenizer.encoder');
    const dec = spec('tokenizer.decoder');
    return new ImageTokenizer(
      runtime,
      await runtime.createSession(enc.bytes),
      await runtime.createSession(dec.bytes),
      enc.m,
      dec.m,
      pack.manifest.image.downsample,
      pack.manifest.codebook.size,
    );
  }

  async encode(image: PlanarImage): Promise<TokenGrid> {
    const f = this.downsample;
    if (image.width % f || image.height % f || image.data.length !== 3 * image.width * image.height) {
      throw new ProtocolError(ErrorCode.InvalidArgument, `image must be 3×H×W float32 with H, W multiples of ${f}`);
    }
    const input = this.encoderSpec.inputs[0]?.name ?? 'image';
    const output = this.encoderSpec.outputs[0]?.name ?? 'tokens';
    const out = await this.encoder.run({ [input]: this.runtime.tensor('float32', image.data, [1, 3, image.height, image.width]) });
    const t = out[output];
    if (!t) throw new ProtocolError(ErrorCode.InvalidField, `encoder has no output ${output}`);
    const tokens = Int32Array.from(t.data as ArrayLike<number>);
    for (const v of tokens) {
      if (v < 0 || v >= this.codebookSize) throw new ProtocolError(ErrorCode.Malformed, `encoder produced token ${v}`);
    }
    return { width: image.width / f, height: image.height / f, tokens };
  }

  async decode(grid: TokenGrid): Promise<PlanarImage> {
    if (grid.tokens.length !== grid.width * grid.height) throw new ProtocolError(ErrorCode.InvalidArgument, 'grid size mismatch');
    for (const v of grid.tokens) {
      if (v < 0 || v >= this.codebookSize) throw new ProtocolError(ErrorCode.InvalidArgument, `token ${v} outside the codebook`);
    }
    const input = this.decoderSpec.inputs[0]?.name ?? 'tokens';
    const output = this.decoderSpec.outputs[0]?.name ?? 'image';
    const out = await this.decoder.run({ [input]: this.runtime.tensor('int32', grid.tokens, [1, grid.height, grid.width]) });
    const t = out[output];
    if (!t) throw new ProtocolError(ErrorCode.InvalidField, `decoder has no output ${output}`);
    return { width: grid.width * this.downsample, height: grid.height * this.downsample, data: Float32Array.from(t.data as ArrayLike<number>) };
  }
}
