/**
 * Wire layer: the binary token-chunk format and the MessagePack control messages.
 * Everything public is listed here explicitly.
 */
export { crc32c, tokenChecksum, CRC32C_POLYNOMIAL } from './crc32c.ts';
export { chunkChecksum } from './chunk-checksum.ts';
export {
  readVarint,
  writeVarint,
  varintLength,
  MAX_VARINT_BYTES,
  MAX_VARINT_VALUE,
} from './varint.ts';
export type { VarintRead } from './varint.ts';
export {
  encodeChunk,
  decodeChunk,
  headerLength,
  CHUNK_VERSION,
  DEFAULT_CHUNK_PAYLOAD_BYTES,
  DEFAULT_CHUNK_LIMITS,
  CHUNK_FIXED_BYTES,
  CHUNK_CHECKSUM_BYTES,
  CHUNK_MIN_HEADER_BYTES,
  CHUNK_MAX_HEADER_BYTES,
  STAGE_ESCAPE,
  CHUNK_INDEX_ESCAPE,
  MAX_STREAM,
  MAX_MODEL,
} from './chunk-header.ts';
export type { ChunkHeader, ChunkLimits, DecodedChunk } from './chunk-header.ts';
export {
  encodeControl,
  decodeControl,
  validateControl,
  scanMsgpack,
  CONTROL_TYPES,
  CONTROL_TYPE_CODES,
  CONTROL_WIRE_KEYS,
  wireKey,
  DEFAULT_CONTROL_LIMITS,
  DEFAULT_MSGPACK_SCAN_LIMITS,
  PEER_ROLES,
  PROTOCOL_VERSION,
  RELIABILITY_MODES,
} from './control/index.ts';
export type {
  ControlMessage,
  ControlType,
  ControlLimits,
  MsgpackScanLimits,
  OpenMessage,
  TaskMessage,
  ResultMessage,
  NackMessage,
  ErrorMessage,
  CloseMessage,
  ChunkSetFields,
  StepMessage,
  AnswerMessage,
  ChunkMessage,
  DoneMessage,
  Capabilities,
  CodebookPackRef,
  PeerRole,
  ReliabilityMode,
} from './control/index.ts';
