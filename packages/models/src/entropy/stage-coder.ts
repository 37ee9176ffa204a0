import {
  ErrorCode,
  ProtocolError,
  StageChunkDecoder,
  encodeStage,
  isProtocolError,
  type ChunkLimits,
  type DecodedStageChunk,
  type StageAddress,
} from '@unimic/protocol';
import type { StageEntropyModel } from './types.ts';

/*
 * A model + the protocol's framing: one stage of a grid → wire chunks, and chunks → tokens. Pure
 * (no I/O); the session layer decides when a stage is ready to decode.
 */

export interface StageInput {
  readonly model: StageEntropyModel;
  /** The tokens known before this stage (UNKNOWN elsewhere): the same grid on both peers. */
  readonly known: Int32Array;
  /** The stage's cells, schedule order. */
  readonly positions: ArrayLike<number>;
  /** Caption BPE ids for a text-conditional model. */
  readonly text?: readonly number[];
}

export async function encodeGridStage(
  input: StageInput & { readonly tokens: ArrayLike<number>; readonly address: StageAddress; readonly maxPayloadBytes?: number },
): Promise<Uint8Array[]> {
  const { model, known, positions, text, tokens } = input;
  if (tokens.length !== positions.length) throw new ProtocolError(ErrorCode.InvalidArgument, `${tokens.length} tokens for ${positions.length} positions`);
  const prediction = await model.predictStage(known, positions, text);
  const tableAt = await prediction.tablesForTokens(tokens);
  return encodeStage({
    ...input.address,
    tokens,
    planes: model.planes,
    tableAt,
    ...(input.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: input.maxPayloadBytes }),
  });
}

export interface StageDecodeResult {
  /** Chunks that decoded and passed their checksum. */
  readonly chunks: DecodedStageChunk[];
  /** One typed error per refused chunk (its index in the input), in input order. */
  readonly errors: { readonly index: number; readonly error: ProtocolError }[];
}

/**
 * Decodes the chunks of one stage that are at hand (any subset, any order): one model run for the
 * stage and one head run per digit plane for each round of chunks. A bad chunk is refused with a
 * typed error and never disturbs the others (each reads only its own cells' digits).
 *
 * Copies of the same cells (a resend, a replay, or a corrupted copy that arrived first) are
 * decoded in rounds: a round takes chunks whose cells do not overlap, and a chunk whose cells a
 * *verified* chunk already holds is refused as a duplicate; one whose cells only a failed chunk
 * claimed gets the next round. So a bad copy never shadows a good one, and the work stays
 * bounded: at most MAX_DECODE_ROUNDS rounds (the rest are refused, the sender resends on NACK).
 */
export async function decodeGridStage(input: StageInput & { readonly chunks: readonly Uint8Array[]; readonly limits?: Partial<ChunkLimits> }): Promise<StageDecodeResult> {
  const { model, known, positions, text, chunks } = input;
  const P = positions.length;
  const K = model.planes.count;
  const errors: { index: number; error: ProtocolError }[] = [];
  const fail = (index: number, err: unknown) => {
    if (!isProtocolError(err)) throw err;
    errors.push({ index, error: err });
  };
  // header and placement first: no model work for a chunk that cannot belong to this stage
  let waiting: { index: number; dec: StageChunkDecoder }[] = [];
  chunks.forEach((bytes, index) => {
    try {
      waiting.push({ index, dec: new StageChunkDecoder(bytes, P, model.planes, input.limits) });
    } catch (err) {
      fail(index, err);
    }
  });
  const verified = new Uint8Array(P);
  const decoded: DecodedStageChunk[] = [];
  let prediction: Awaited<ReturnType<StageEntropyModel['predictStage']>> | undefined;
  for (let round = 0; waiting.length > 0; round++) {
    const claimed = new Uint8Array(P);
    let live: { index: number; dec: StageChunkDecoder }[] = [];
    const later: typeof waiting = [];
    for (const w of waiting) {
      const { offset, count } = w.dec;
      if (verified.subarray(offset, offset + count).some((v) => v === 1)) {
        fail(w.index, new ProtocolError(ErrorCode.Duplicate, `chunk ${w.dec.header.chunkIndex} of stage ${w.dec.header.stage}: its cells are already decoded`));
      } else if (claimed.subarray(offset, offset + count).some((v) => v === 1)) {
        if (round + 1 < MAX_DECODE_ROUNDS) later.push(w);
        else fail(w.index, new ProtocolError(ErrorCode.Duplicate, `chunk ${w.dec.header.chunkIndex} of stage ${w.dec.header.stage}: more than ${MAX_DECODE_ROUNDS} overlapping copies at once`));
      } else {
        claimed.fill(1, offset, offset + count);
        live.push(w);
      }
    }
    waiting = later;
    if (live.length === 0) continue;
    prediction ??= await model.predictStage(known, positions, text);
    const digits = new Uint32Array(P * K);
    for (let k = 0; k < K && live.length > 0; k++) {
      const tables = await prediction.planeTables(k, digits);
      live = live.filter(({ index, dec }) => {
        try {
          const plane = dec.decodePlane(tables);
          for (let j = 0; j < plane.length; j++) digits[(dec.offset + j) * K + k] = plane[j] as number;
          return true;
        } catch (err) {
          fail(index, err);
          return false;
        }
      });
    }
    for (const { index, dec } of live) {
      try {
        decoded.push(dec.finish());
        verified.fill(1, dec.offset, dec.offset + dec.count);
      } catch (err) {
        fail(index, err);
      }
    }
  }
  errors.sort((a, b) => a.index - b.index);
  return { chunks: decoded, errors };
}

/** Rounds of overlapping copies one decode call tries (a good copy behind two bad ones still decodes). */
export const MAX_DECODE_ROUNDS = 3;
