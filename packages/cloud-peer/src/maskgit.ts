import { ErrorCode, ProtocolError, UNKNOWN, createRng } from './deps.ts';
import type { ImageGenerationRequest, ImageStep, MaskedPredictor, TokenSampler } from './generator.ts';

/*
 * MaskGIT decoding (Chang et al., 2022) over any masked-token sampler: at every step, sample a
 * token for every target cell still open, score it by its log-probability plus annealed Gumbel
 * noise, and commit the best-scoring cells so that the share still open
 * follows cos(π/2 · (t+1)/T). The last step commits everything.
 */

/** Target cells still open after step t of T, for n targets (cosine schedule; 0 after the last). */
export function openAfterStep(n: number, t: number, steps: number): number {
  if (t >= steps - 1) return 0;
  return Math.floor(n * Math.cos((Math.PI / 2) * ((t + 1) / steps)));
}

export async function* generateImage(model: TokenSampler, req: ImageGenerationRequest): AsyncGenerator<ImageStep> {
  const { target, steps } = req;
  const temperature = req.temperature ?? 1;
  const choiceTemperature = req.choiceTemperature ?? 4.5;
  if (!Number.isInteger(steps) || steps < 1 || steps > 256) throw new ProtocolError(ErrorCode.InvalidArgument, `steps must be in 1..256, got ${steps}`);
  if (!(temperature > 0)) throw new ProtocolError(ErrorCode.InvalidArgument, 'temperature must be > 0');
  if (!(choiceTemperature >= 0)) throw new ProtocolError(ErrorCode.InvalidArgument, 'choice temperature must be ≥ 0');
  const guidance = req.guidance ?? 0;
  if (!(guidance >= 0 && guidance <= 64)) throw new ProtocolError(ErrorCode.InvalidArgument, 'guidance must be in 0..64');
  const S = model.cells;
  const isTarget = new Uint8Array(S);
  for (const p of target) {
    if (p >= S || isTarget[p]) throw new ProtocolError(ErrorCode.InvalidArgument, `target cell ${p} out of range or repeated`);
    isTarget[p] = 1;
  }
  const committed = new Int32Array(S).fill(UNKNOWN);
  const rng = createRng(req.seed);
  const uniform = () => (rng() + 0.5) / 2 ** 32; // in (0, 1): safe for log
  let open = Array.from(target);
  for (let t = 0; t < steps && open.length > 0; t++) {
    // the grid the model sees: the context as known now, with this generation's commits
    const context = req.context();
    if (context.length !== S) throw new ProtocolError(ErrorCode.InvalidArgument, `context of ${context.length} cells, model has ${S}`);
    const grid = new Int32Array(S);
    for (let i = 0; i < S; i++) grid[i] = isTarget[i] ? (committed[i] as number) : (context[i] as number);
    const drawn = await model.sample(grid, open, { ...(req.text ? { text: req.text } : {}), temperature, uniform, guidance });
    const keepOpen = openAfterStep(target.length, t, steps);
    const anneal = choiceTemperature * (1 - (t + 1) / steps);
    const scored = open.map((cell, i) => ({ cell, i, score: (drawn.logp[i] as number) + anneal * -Math.log(-Math.log(uniform())) }));
    scored.sort((a, b) => b.score - a.score || a.cell - b.cell);
    const commit = scored.slice(0, Math.max(0, open.length - keepOpen));
    commit.sort((a, b) => a.cell - b.cell);
    const positions = Uint16Array.from(commit, (c) => c.cell);
    const tokens = Int32Array.from(commit, (c) => drawn.tokens[c.i] as number);
    positions.forEach((p, j) => (committed[p] = tokens[j] as number));
    const done = new Set(positions);
    open = open.filter((c) => !done.has(c));
    yield { step: t, steps, positions, tokens };
  }
}

/**
 * A sampler over a factorized masked-token model (the pack's entropy models): each token digit by
 * digit, every digit from the model's distribution given the digits before it.
 */
export function digitSampler(model: MaskedPredictor): TokenSampler {
  return {
    cells: model.cells,
    async sample(grid, positions, { text, temperature, uniform }) {
      const prediction = await model.predictStage(grid, positions, text);
      const P = positions.length;
      const K = model.planes.count;
      const digits = new Uint32Array(P * K);
      const logp = new Float64Array(P);
      for (let k = 0; k < K; k++) {
        const L = model.planes.sizes[k] as number;
        const logits = await prediction.planeLogits(k, digits);
        for (let i = 0; i < P; i++) {
          const [d, lp] = sampleSoftmax(logits, i * L, L, temperature, uniform());
          digits[i * K + k] = d;
          logp[i] = (logp[i] as number) + lp;
        }
      }
      return { tokens: Int32Array.from({ length: P }, (_, i) => model.planes.join(digits, i * K, 1)), logp };
    },
  };
}

/**
 * Samples from softmax(logits[at..at+L] / temperature); returns [symbol, log p(symbol)] (log p at
 * temperature 1). Per cell of a MaskGIT step this runs over 8192 logits (the cloud model's flat
 * head), so it makes one exp per logit per needed sum and stops the draw at the pick.
 */
export function sampleSoftmax(logits: Float32Array, at: number, L: number, temperature: number, u: number): [number, number] {
  let max = -Infinity;
  for (let j = 0; j < L; j++) max = Math.max(max, logits[at + j] as number);
  let z = 0;
  for (let j = 0; j < L; j++) z += Math.exp((logits[at + j] as number) - max);
  let zT = z;
  if (temperature !== 1) {
    zT = 0;
    for (let j = 0; j < L; j++) zT += Math.exp(((logits[at + j] as number) - max) / temperature);
  }
  // inverse CDF, unnormalized: stop where the running mass passes u · zT
  const target = u * zT;
  let acc = 0;
  let pick = L - 1;
  for (let j = 0; j < L; j++) {
    const x = (logits[at + j] as number) - max;
    acc += temperature === 1 ? Math.exp(x) : Math.exp(x / temperature);
    if (target < acc) {
      pick = j;
      break;
    }
  }
  return [pick, (logits[at + pick] as number) - max - Math.log(z)];
}
