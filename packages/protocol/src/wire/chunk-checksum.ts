import type { ChunkHeader } from './chunk-header.ts';
import { crcTokens } from './crc32c.ts';

/**
 * The checksum a chunk header carries: CRC-32C over the header fields that decide where the
 * tokens go and how they decode, then over the token ids.
 *
 * A checksum of the tokens alone let a flipped `last` bit, chunk index or stage place intact
 * tokens at other cells unnoticed (an independent fuzzer found 5,401 such cases): the tokens
 * still hashed right. Covering placement makes any such flip a checksum failure.
 *
 * Covered, in order, each as one uint32: version, last (0/1), stage, stream, model, message,
 * chunkIndex, tokenCount. Then the tokens, as `tokenChecksum` takes them (one running CRC, no buffer per chunk).
 */
export function chunkChecksum(header: Omit<ChunkHeader, 'checksum'>, tokens: ArrayLike<number>): number {
  const placement = [header.version, header.last ? 1 : 0, header.stage, header.stream, header.model, header.message, header.chunkIndex, header.tokenCount];
  return ~crcTokens(crcTokens(~0, placement), tokens) >>> 0;
}
