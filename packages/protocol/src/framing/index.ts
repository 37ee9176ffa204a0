export { StageAssembler } from './stage-assembler.ts';
export { StageChunkDecoder, chunkOffset, decodeStageChunk, encodeStage } from './stage-chunks.ts';
export type { DecodedStageChunk, EncodeStageOptions, StageAddress } from './stage-chunks.ts';
