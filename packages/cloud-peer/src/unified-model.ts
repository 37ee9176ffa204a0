import { ErrorCode, ProtocolError, modelInputTokens, yieldToEventLoop } from './deps.ts';
import type { InferenceSessionLike, LoadedPack, Runtime, TensorLike } from './deps.ts';
import { cloudTextIds, parseCloudVocab, type CloudVocab } from './cloud-vocab.ts';
import type { AnswerGenerator, SampledTokens, SampleOptions, TokenSampler } from './generator.ts';
import { sampleSoftmax } from './maskgit.ts';

/*
 * The cloud pack's generative model (training/cloud_model.py): one Transformer over
 * [text; image tokens; answer], text and answer causal, image bidirectional with a MASK id. Its
 * backbone gives per-cell features and the answer's next-token logits in one pass; a separate
 * head turns the features of the cells being sampled into 8192 token logits, so a MaskGIT step
 * pays the head only for the cells still open. Only the cloud runs it: its floats need not match
 * anyone's, so any runtime (native onnxruntime-node by default) will do.
 */

export const CLOUD_MODEL_ROLES = ['cloud.backbone', 'cloud.image-head', 'cloud.text.vocab'] as const;

export class UnifiedModel implements TokenSampler, AnswerGenerator {
  readonly cells: number;
  /** Codebook size; also the MASK id of the image input. */
  readonly codebook: number;

  private constructor(
    private readonly runtime: Runtime,
    private readonly backbone: InferenceSessionLike,
    private readonly head: InferenceSessionLike,
    readonly vocab: CloudVocab,
    cells: number,
    codebook: number,
  ) {
    this.cells = cells;
    this.codebook = codebook;
  }

  static async fromPack(pack: LoadedPack, runtime: Runtime): Promise<UnifiedModel> {
    const file = (role: (typeof CLOUD_MODEL_ROLES)[number]) => {
      const bytes = pack.files.get(role);
      if (!bytes) throw new ProtocolError(ErrorCode.InvalidField, `pack ${pack.manifest.id} has no ${role} (a cloud pack has)`);
      return bytes;
    };
    const { image, codebook } = pack.manifest;
    const side = image.width / image.downsample;
    if (!Number.isInteger(side) || image.height !== image.width) throw new ProtocolError(ErrorCode.InvalidField, `cloud pack ${pack.manifest.id}: a square grid is needed`);
    const vocab = parseCloudVocab(file('cloud.text.vocab'));
    const [backbone, head] = await Promise.all([runtime.createSession(file('cloud.backbone')), runtime.createSession(file('cloud.image-head'))]);
    return new UnifiedModel(runtime, backbone, head, vocab, side * side, codebook.size);
  }

  /** One backbone pass: per-cell features [cells, d] and the answer slot's next-token logits. */
  private async forward(grid: Int32Array, text: readonly number[], answer: Int32Array): Promise<{ h: Float32Array; d: number; answerLogits: Float32Array }> {
    const S = this.cells;
    const tokens = modelInputTokens(grid, S, this.codebook);
    const T = this.vocab.textLength;
    const out = await this.backbone.run({
      text: this.runtime.tensor('int32', cloudTextIds(this.vocab, text), [1, T]),
      tokens: this.runtime.tensor('int32', tokens, [1, S]),
      answer: this.runtime.tensor('int32', answer, [1, answer.length]),
    });
    await yieldToEventLoop();
    const h = floats(out, 'h');
    const answerLogits = floats(out, 'answer_logits');
    if (h.length % S !== 0 || answerLogits.length !== answer.length * this.vocab.size) {
      throw new ProtocolError(ErrorCode.InvalidField, 'cloud backbone outputs do not match the pack (h, answer_logits)');
    }
    return { h, d: h.length / S, answerLogits };
  }

  private emptyAnswer(): Int32Array {
    const a = new Int32Array(this.vocab.answerLength).fill(this.vocab.pad);
    a[0] = this.vocab.ans;
    return a;
  }

  async sample(grid: Int32Array, positions: readonly number[], { text, temperature, uniform, guidance = 0 }: SampleOptions): Promise<SampledTokens> {
    const P = positions.length;
    if (P === 0) return { tokens: new Int32Array(0), logp: new Float64Array(0) };
    for (const p of positions) if (!Number.isInteger(p) || p < 0 || p >= this.cells) throw new ProtocolError(ErrorCode.InvalidArgument, `cell ${p}`);
    const prompt = text ?? [];
    // guidance needs the same cells seen without the prompt (the model learnt both: prompts are
    // dropped in training); both passes' rows go through the head in one call
    const guided = guidance > 0 && prompt.length > 0;
    const passes = guided ? [prompt, []] : [prompt];
    let d = 0;
    let rows = new Float32Array(0);
    for (const [k, t] of passes.entries()) {
      const f = await this.forward(grid, t, this.emptyAnswer());
      if (k === 0) (d = f.d), (rows = new Float32Array(passes.length * P * d));
      positions.forEach((p, i) => rows.set(f.h.subarray(p * d, (p + 1) * d), (k * P + i) * d));
    }
    const logits = floats(await this.head.run({ h: this.runtime.tensor('float32', rows, [1, passes.length * P, d]) }), 'logits');
    await yieldToEventLoop();
    const V = this.codebook;
    if (logits.length !== passes.length * P * V) throw new ProtocolError(ErrorCode.InvalidField, `cloud image head gave ${logits.length} logits for ${passes.length * P} cells`);
    if (guided) {
      const off = P * V;
      for (let j = 0; j < off; j++) {
        const c = logits[j] as number;
        logits[j] = c + guidance * (c - (logits[off + j] as number));
      }
    }
    const tokens = new Int32Array(P);
    const logp = new Float64Array(P);
    for (let i = 0; i < P; i++) [tokens[i], logp[i]] = sampleSoftmax(logits, i * V, V, temperature, uniform());
    return { tokens, logp };
  }

  /**
   * Greedy answer decoding, one backbone pass per answer token, each token yielded as soon as it
   * is known (as BPE ids). Greedy, so the seed does not matter: the same image and question give
   * the same answer.
   */
  async *answer(grid: Int32Array, question: readonly number[], _seed: number): AsyncGenerator<readonly number[]> {
    const { vocab } = this;
    const slot = this.emptyAnswer();
    for (let i = 0; i + 1 < vocab.answerLength; i++) {
      const { answerLogits } = await this.forward(grid, question, slot);
      const next = argmax(answerLogits, i * vocab.size, vocab.size);
      if (next === vocab.eos || next === vocab.pad || next === vocab.ans) return;
      slot[i + 1] = next;
      const bpe = vocab.bpe[next] as number;
      // UNK has no BPE id: stop rather than invent text
      if (bpe < 0) return;
      yield [bpe];
    }
  }
}

function floats(out: Record<string, TensorLike>, name: string): Float32Array {
  const t = out[name];
  if (!t || !(t.data instanceof Float32Array)) throw new ProtocolError(ErrorCode.InvalidField, `cloud model output ${name} missing or not float32`);
  return t.data;
}

function argmax(x: Float32Array, at: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if ((x[at + j] as number) > (x[at + best] as number)) best = j;
  return best;
}
