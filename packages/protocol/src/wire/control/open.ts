/**
 * `open`: first control message each peer sends on a session. It pins the protocol
 * version and the codebook pack (by content hash, so both peers provably use the same
 * token vocabularies) and advertises what the peer can do.
 *
 *   { type: 'open', protocolVersion, role, pack: { id, sha256 },
 *     capabilities: { models[], tasks[], maxChunkBytes, reliability? } }
 */
import type { Fields } from './validate.ts';
import { asLiteral, asString, assertUnique, invalidField } from './validate.ts';
// One home for the task names: the task table.
import { TASK_NAMES as TASK_KINDS, type TaskName as TaskKind } from '../../tasks/tasks.ts';

/** The version both peers send in `open`. 2: control messages with short wire keys (wire-keys.ts); 3: chunk checksums cover placement (chunk-checksum.ts); 4: no `ack` message (type code 3 retired), the cloud sends no `done` (its `result` says what it sent), the edge sends `close` when it leaves. */
export const PROTOCOL_VERSION = 4;

export const PEER_ROLES = ['edge', 'cloud'] as const;
export type PeerRole = (typeof PEER_ROLES)[number];

export const RELIABILITY_MODES = ['reliable', 'partial'] as const;
export type ReliabilityMode = (typeof RELIABILITY_MODES)[number];

/** The chunk header's model field is 3 bits wide, so a session names at most 8 models. */
export const MAX_MODELS = 8;
export const MAX_MODEL_NAME_CHARS = 64;
export const MAX_PACK_ID_CHARS = 128;

const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface CodebookPackRef {
  readonly id: string;
  /** Lowercase hex SHA-256 of the pack, 64 characters. */
  readonly sha256: string;
}

export interface Capabilities {
  /** Model names the peer can run; position = model index in chunk headers. */
  readonly models: readonly string[];
  readonly tasks: readonly TaskKind[];
  /** Largest chunk (header + payload) the peer accepts. */
  readonly maxChunkBytes: number;
  readonly reliability?: ReliabilityMode;
}

export interface OpenMessage {
  readonly type: 'open';
  readonly protocolVersion: number;
  readonly role: PeerRole;
  readonly pack: CodebookPackRef;
  readonly capabilities: Capabilities;
}

export function readOpen(f: Fields): OpenMessage {
  const protocolVersion = f.uint('protocolVersion');
  const role = f.literal('role', PEER_ROLES);

  const p = f.struct('pack');
  const id = p.string('id', MAX_PACK_ID_CHARS);
  const sha256 = p.string('sha256', 64);
  if (!SHA256_HEX.test(sha256)) throw invalidField(p.child('sha256'), 'expected 64 lowercase hex digits');
  p.end();

  const c = f.struct('capabilities');
  const models = c.array('models', MAX_MODELS, (v, path) => asString(v, path, MAX_MODEL_NAME_CHARS));
  // Duplicates would make the model index ambiguous.
  assertUnique(models, c.child('models'));
  const tasks = c.array('tasks', TASK_KINDS.length, (v, path) => asLiteral(v, path, TASK_KINDS));
  assertUnique(tasks, c.child('tasks'));
  const maxChunkBytes = c.uint('maxChunkBytes');
  const reliability = c.optLiteral('reliability', RELIABILITY_MODES);
  c.end();
  f.end();

  const capabilities: Capabilities =
    reliability === undefined
      ? { models, tasks, maxChunkBytes }
      : { models, tasks, maxChunkBytes, reliability };
  return { type: 'open', protocolVersion, role, pack: { id, sha256 }, capabilities };
}
