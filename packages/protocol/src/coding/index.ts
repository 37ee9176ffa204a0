export type { FrequencyTable, TableBuilderOptions, TableKernel } from './frequency-table.ts';
export {
  DEFAULT_PRECISION,
  EXP2_Q24,
  QUANTIZED_LOGIT_LIMIT,
  LOGIT_SCALE,
  MAX_PRECISION,
  TableBuilder,
  alphabetSize,
  frequencyOf,
  quantizeLogits,
  simdTablesAvailable,
  tableFromCounts,
  tableFromLogits,
  uniformTable,
  validateTable,
} from './frequency-table.ts';
export { RangeDecoder, RangeEncoder, decodeSymbols, encodeSymbols } from './range-coder.ts';
export { mixedRadixPlanes, singlePlane } from './token-planes.ts';
export type { TokenPlanes } from './token-planes.ts';
