export { TOKEN_SET_NAMES, STREAM_IDS, TASK_NAMES, TASKS, taskSpec, tokenSetOfStream } from './tasks.ts';
export type { TokenSetName, TokenSetCodec, TokenSetSpec, StreamId, TaskName, TaskSpec } from './tasks.ts';
export {
  MAX_CANVAS_SIDE,
  EXTENSION_SIDES,
  maskByteLength,
  maskedPositions,
  unmaskedPositions,
  maskFromPositions,
  extensionGeometry,
} from './geometry.ts';
export type { ExtensionSide, ExtensionGeometry } from './geometry.ts';
export { subsetFromMask, subsetMask } from './subset.ts';
