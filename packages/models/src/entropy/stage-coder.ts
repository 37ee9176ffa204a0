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
 * stage and one head run per digit plane for all of them together. A bad chunk is refused with a
 * typed error and never disturbs the others (each reads only its own cells' digits); a chunk whose
 * cells another chunk of the same batch already claims is refused as a duplicate.
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
  const claimed = new Uint8Array(P);
  let live: { index: number; dec: StageChunkDecoder }[] = [];
  chunks.forEach((bytes, index) => {
    try {
      const dec = new StageChunkDecoder(bytes, P, model.planes, input.limits);
      for (let j = 0; j < dec.count; j++) {
        if (claimed[dec.offset + j]) throw new ProtocolError(ErrorCode.Duplicate, `chunk ${dec.header.chunkIndex} overlaps another chunk of stage ${dec.header.stage}`);
      }
      claimed.fill(1, dec.offset, dec.offset + dec.count);
      live.push({ index, dec });
    } catch (err) {
      fail(index, err);
    }
  });
  if (live.length > 0) {
    const prediction = await model.predictStage(known, positions, text);
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
  }
  const decoded: DecodedStageChunk[] = [];
  for (const { index, dec } of live) {
    try {
      decoded.push(dec.finish());
    } catch (err) {
      fail(index, err);
    }
  }
  errors.sort((a, b) => a.index - b.index);
  return { chunks: decoded, errors };
}
