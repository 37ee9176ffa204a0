import { DEFAULT_CHUNK_LIMITS } from '@unimic/protocol';

/*
 * The numbers both peers of a session must agree on or would otherwise each pick: one place,
 * so an edge and a cloud built from this package cannot drift apart.
 */
export const SESSION_LIMITS = Object.freeze({
  /** Largest chunk either peer sends and accepts (announced in `open`): one datagram with headroom. */
  maxChunkBytes: DEFAULT_CHUNK_LIMITS.maxChunkBytes,
  /**
   * On a partially reliable channel, how long chunks still in flight are waited for after the
   * sender said it sent everything (the edge after `result`, the cloud after the upload's `done`).
   */
  lossGraceMs: 300,
  /** How long the edge waits for the cloud's `open`. */
  openTimeoutMs: 15_000,
  /** A request with no result by then fails with ERR_TIMEOUT (the edge's default deadline). */
  requestDeadlineMs: 120_000,
  /**
   * Chunks that arrive before their `task` message (the two channels are independent, so a chunk
   * can overtake the task, most of all when a packet of the control channel is lost) are held
   * this long, up to these bounds per session, and handed to the request when its task arrives.
   */
  earlyChunks: Object.freeze({ maxChunks: 128, maxBytes: 128 * 1024, maxAgeMs: 10_000 }),
});
