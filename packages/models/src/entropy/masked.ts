import { ErrorCode, ProtocolError, mixedRadixPlanes, type FrequencyTable, type TokenPlanes } from '@unimic/protocol';
import type { InferenceSessionLike, Runtime, TensorLike } from '../inference.ts';
import type { LoadedPack } from '../load.ts';
import { yieldToEventLoop } from '../yield.ts';
import { planeBuilders } from './context-free.ts';
import { captionIds, parseCaptionVocab, type CaptionVocab } from './caption-vocab.ts';
import { modelInputTokens } from './model-input.ts';
import { type LogitsPrediction, type StageEntropyModel, type StageTableAt } from './types.ts';

/*
 * The masked-token entropy model (and its text-conditional variant) of a pack: a bidirectional
 * Transformer backbone that sees the known tokens (MASK elsewhere) and gives one feature vector
 * per cell, and a factorized head that turns a cell's features into tables for the token's FSQ
 * digits, digit k conditioned on digits < k. One backbone run per stage; one head run per digit
 * plane for the decoder (the encoder knows every digit and needs one).
 *
 * Bit-exactness: both peers run these graphs on the same pinned onnxruntime-web wasm build and
 * feed them identical tensors of identical shapes — the backbone always the whole grid, the head
 * always all of the stage's positions — so the floats, hence the tables, agree bit for bit.
 */

export interface MaskedModelFiles {
  readonly backbone: Uint8Array;
  readonly head: Uint8Array;
  /** Text-conditional models: the caption vocabulary asset. */
  readonly vocab?: Uint8Array;
}

export class MaskedEntropyModel implements StageEntropyModel {
  readonly planes: TokenPlanes;
  private readonly builders;
  readonly cells: number;
  private readonly maskId: number;

  private constructor(
    readonly name: string,
    private readonly runtime: Runtime,
    private readonly backbone: InferenceSessionLike,
    private readonly head: InferenceSessionLike,
    levels: readonly number[],
    cells: number,
    private readonly vocab: CaptionVocab | undefined,
  ) {
    this.planes = mixedRadixPlanes(levels);
    this.builders = planeBuilders(levels);
    this.cells = cells;
    this.maskId = levels.reduce((a, b) => a * b, 1);
  }

  /** The pack's `entropy.masked` (kind 'masked') or `entropy.text` (kind 'text') model. */
  static async fromPack(pack: LoadedPack, kind: 'masked' | 'text', runtime: Runtime): Promise<MaskedEntropyModel> {
    const get = (role: Parameters<LoadedPack['files']['get']>[0]) => {
      const bytes = pack.files.get(role);
      if (!bytes) throw new ProtocolError(ErrorCode.InvalidField, `pack ${pack.manifest.id} was loaded without ${role}`);
      return bytes;
    };
    const { manifest } = pack;
    const levels = manifest.codebook.levels;
    if (manifest.codebook.kind !== 'fsq' || !levels) throw new ProtocolError(ErrorCode.InvalidField, 'factorized entropy models need FSQ levels');
    const cells = (manifest.image.width / manifest.image.downsample) * (manifest.image.height / manifest.image.downsample);
    return MaskedEntropyModel.create(
      kind,
      runtime,
      {
        backbone: get(`entropy.${kind}.backbone`),
        head: get(`entropy.${kind}.head`),
        ...(kind === 'text' ? { vocab: get('entropy.text.vocab') } : {}),
      },
      levels,
      cells,
    );
  }

  static async create(name: string, runtime: Runtime, files: MaskedModelFiles, levels: readonly number[], cells: number): Promise<MaskedEntropyModel> {
    const vocab = files.vocab ? parseCaptionVocab(files.vocab) : undefined;
    return new MaskedEntropyModel(
      name,
      runtime,
      await runtime.createSession(files.backbone),
      await runtime.createSession(files.head),
      levels,
      cells,
      vocab,
    );
  }

  async predictStage(grid: Int32Array, positions: ArrayLike<number>, text?: readonly number[]): Promise<LogitsPrediction> {
    const S = this.cells;
    const tokens = modelInputTokens(grid, S, this.maskId);
    const P = positions.length;
    if (P < 1 || P > S) throw new ProtocolError(ErrorCode.InvalidArgument, `a stage of ${P} positions`);
    const feeds: Record<string, TensorLike> = { tokens: this.runtime.tensor('int32', tokens, [1, S]) };
    if (this.vocab) {
      const ids = captionIds(this.vocab, text ?? []);
      feeds.text = this.runtime.tensor('int32', ids, [1, ids.length]);
    }
    const h = floatOutput(await this.backbone.run(feeds), 'h', S);
    await yieldToEventLoop();
    const d = h.length / S;
    // the stage's rows, in schedule order: the head sees exactly the stage on both peers
    const rows = new Float32Array(P * d);
    for (let i = 0; i < P; i++) {
      const p = positions[i] as number;
      if (!Number.isInteger(p) || p < 0 || p >= S) throw new ProtocolError(ErrorCode.InvalidArgument, `stage position ${p}`);
      rows.set(h.subarray(p * d, (p + 1) * d), i * d);
    }
    return new FactorizedStage(this, rows, P, d);
  }

  /** @internal one head run: logits of every plane for P positions given token-major digits. */
  async runHead(rows: Float32Array, P: number, d: number, digits: Int32Array): Promise<Float32Array[]> {
    const K = this.planes.count;
    const out = await this.head.run({
      h: this.runtime.tensor('float32', rows, [1, P, d]),
      digits: this.runtime.tensor('int32', digits, [1, P, K]),
    });
    await yieldToEventLoop();
    return this.planes.sizes.map((L, k) => floatOutput(out, `logits_d${k}`, P * L));
  }

  /** @internal */
  tableFrom(plane: number, logits: Float32Array, i: number): FrequencyTable {
    const L = this.planes.sizes[plane] as number;
    return (this.builders[plane] as ReturnType<typeof planeBuilders>[number]).fromLogits(logits.subarray(i * L, (i + 1) * L));
  }
}

class FactorizedStage implements LogitsPrediction {
  constructor(
    private readonly model: MaskedEntropyModel,
    private readonly rows: Float32Array,
    readonly size: number,
    private readonly d: number,
  ) {}

  async tablesForTokens(tokens: ArrayLike<number>): Promise<StageTableAt> {
    const { planes } = this.model;
    const K = planes.count;
    if (tokens.length !== this.size) throw new ProtocolError(ErrorCode.InvalidArgument, `${tokens.length} tokens for a stage of ${this.size}`);
    const digits = new Int32Array(this.size * K);
    for (let i = 0; i < this.size; i++) for (let k = 0; k < K; k++) digits[i * K + k] = planes.digit(tokens[i] as number, k);
    // one run with every digit known: the logits of digit k depend only on digits < k (by
    // construction of the head), so they equal the decoder's plane-by-plane runs bit for bit
    const logits = await this.model.runHead(this.rows, this.size, this.d, digits);
    const cache = new Map<number, FrequencyTable>();
    return (i, k) => {
      const key = i * K + k;
      let t = cache.get(key);
      if (!t) cache.set(key, (t = this.model.tableFrom(k, logits[k] as Float32Array, i)));
      return t;
    };
  }

  async planeTables(plane: number, digits: Uint32Array): Promise<(i: number) => FrequencyTable> {
    const logits = await this.planeLogits(plane, digits);
    return (i) => this.model.tableFrom(plane, logits, i);
  }

  async planeLogits(plane: number, digits: Uint32Array): Promise<Float32Array> {
    const K = this.model.planes.count;
    if (digits.length !== this.size * K) throw new ProtocolError(ErrorCode.InvalidArgument, `digits for ${digits.length / K} positions, stage has ${this.size}`);
    // digits ≥ plane are not decoded yet: zero them so the head input is the same on every call
    const input = new Int32Array(this.size * K);
    for (let i = 0; i < this.size; i++) for (let k = 0; k < plane; k++) input[i * K + k] = digits[i * K + k] as number;
    return (await this.model.runHead(this.rows, this.size, this.d, input))[plane] as Float32Array;
  }
}

function floatOutput(out: Record<string, TensorLike>, name: string, multipleOf: number): Float32Array {
  const t = out[name];
  if (!t || !(t.data instanceof Float32Array) || t.data.length % multipleOf !== 0 || t.data.length === 0) {
    throw new ProtocolError(ErrorCode.InvalidField, `model output ${name} missing or misshapen`);
  }
  return t.data;
}
