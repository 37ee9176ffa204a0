/**
 * Control format 2: the names of control-message fields on the wire.
 *
 * MessagePack writes every map key in full, and the keys were most of a control message: a
 * `step` message was 61 bytes, 43 of them the keys `type`, `requestId`, `stream`, `stage`,
 * `upStages`, `cells`, against 300–450 bytes of coded tokens for a whole image request. So on the
 * wire each field has a fixed short key (one letter for the fields of the per-step messages) and
 * the message type is a small integer; in TypeScript, in schemas and in error messages the fields
 * keep their long names. The table is the format: both peers hold the same one, keys are never
 * added by the sender, and the decoder rejects any key outside it.
 */
import { ErrorCode, ProtocolError } from '../../errors.ts';
import { FORBIDDEN_KEYS, invalidField } from './validate.ts';

/** Long field name → wire key. Unique in both directions (checked when this module loads). */
export const CONTROL_WIRE_KEYS: Readonly<Record<string, string>> = Object.freeze({
  // every message
  type: 't',
  requestId: 'r',
  // per step / per chunk set: one letter
  stream: 's',
  stage: 'g',
  upStages: 'u',
  cells: 'c',
  stages: 'n',
  message: 'm',
  chunks: 'k',
  data: 'd',
  piece: 'p',
  tokens: 'x',
  done: 'z',
  // task
  task: 'tk',
  grid: 'gr',
  width: 'w',
  height: 'h',
  schedule: 'sc',
  kind: 'ki',
  seed: 'sd',
  text: 'tx',
  mask: 'ma',
  outpaint: 'op',
  side: 'si',
  amount: 'am',
  steps: 'st',
  startAfter: 'sa',
  reliableStages: 'rs',
  // result
  ok: 'ok',
  tokensUp: 'tu',
  tokensDown: 'td',
  bytesUp: 'bu',
  bytesDown: 'bd',
  stagesUsed: 'su',
  elapsedMs: 'e',
  modelMs: 'mm',
  // open
  protocolVersion: 'v',
  role: 'ro',
  pack: 'pk',
  id: 'id',
  sha256: 'sh',
  capabilities: 'cp',
  models: 'md',
  tasks: 'ts',
  maxChunkBytes: 'mc',
  reliability: 'rl',
  // error, close
  code: 'co',
  reason: 're',
});

/** Message type → its code on the wire (the `type` field's value). Append only. */
export const CONTROL_TYPE_CODES: Readonly<Record<string, number>> = Object.freeze({
  open: 0,
  task: 1,
  result: 2,
  // 3 was `ack` (protocol ≤ 3, never sent): retired, never reused
  nack: 4,
  error: 5,
  close: 6,
  step: 7,
  answer: 8,
  chunk: 9,
  done: 10,
});

const LONG_TO_WIRE = new Map(Object.entries(CONTROL_WIRE_KEYS));
const WIRE_TO_LONG = new Map(Object.entries(CONTROL_WIRE_KEYS).map(([long, wire]) => [wire, long]));
const TYPE_BY_CODE = new Map(Object.entries(CONTROL_TYPE_CODES).map(([type, code]) => [code, type]));
if (WIRE_TO_LONG.size !== LONG_TO_WIRE.size || TYPE_BY_CODE.size !== Object.keys(CONTROL_TYPE_CODES).length) {
  throw new Error('control wire table: a wire key or type code is used twice');
}

/** The wire key of a field, for tests and tools that write raw messages. */
export function wireKey(field: string): string {
  const key = LONG_TO_WIRE.get(field);
  if (key === undefined) throw new ProtocolError(ErrorCode.InvalidArgument, `no wire key for field '${field}'`);
  return key;
}

/**
 * A validated message (plain objects, long names) as it goes on the wire. Only called on the
 * output of the schemas, so every key is in the table.
 */
export function toWire(message: { readonly type: string }): Map<string, unknown> {
  const out = mapToWire(message as unknown as Record<string, unknown>);
  out.set('t', CONTROL_TYPE_CODES[message.type]); // same key, so it keeps its place first
  return out;
}

function mapToWire(obj: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (value === undefined) continue;
    out.set(wireKey(key), valueToWire(value));
  }
  return out;
}

function valueToWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(valueToWire);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) return mapToWire(value as Record<string, unknown>);
  return value;
}

/**
 * A decoded top-level map with its fields renamed back to their long names, ready for the
 * schemas. Errors (with the field path): a non-string or unknown key → ERR_INVALID_FIELD, a
 * prototype key → ERR_FORBIDDEN_KEY, a `type` that is not an integer → ERR_INVALID_FIELD, an
 * integer that names no message type → ERR_UNKNOWN_TYPE; a map keyed by long names is a peer
 * speaking control format 1 → ERR_UNSUPPORTED_VERSION.
 */
export function fromWire(map: Map<unknown, unknown>): Map<string, unknown> {
  for (const key of map.keys()) checkKey(key, '');
  if (!map.has('t') && typeof map.get('type') === 'string') {
    throw new ProtocolError(ErrorCode.UnsupportedVersion, 'control message with long field names: the peer speaks control format 1, this peer format 2');
  }
  // the type first: it is the root of every field path, as in the schemas ("task.grid.width")
  const code = map.get('t');
  let type: string | undefined;
  if (code !== undefined) {
    if (typeof code !== 'number' || !Number.isSafeInteger(code)) throw invalidField('type', 'expected a message type code (an integer)');
    type = TYPE_BY_CODE.get(code);
    if (type === undefined) throw new ProtocolError(ErrorCode.UnknownType, `unknown control message type code ${code}`);
  }
  const out = mapFromWire(map, type ?? '');
  if (type !== undefined) out.set('type', type);
  return out; // a missing type is the schema's to report
}

function checkKey(key: unknown, path: string): asserts key is string {
  if (typeof key !== 'string') throw invalidField(path, `map key of type ${typeof key}`);
  if (FORBIDDEN_KEYS.has(key)) throw new ProtocolError(ErrorCode.ForbiddenKey, `${path === '' ? '(message)' : path}: forbidden key '${key}'`);
}

function mapFromWire(map: Map<unknown, unknown>, path: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, value] of map) {
    checkKey(key, path);
    const long = WIRE_TO_LONG.get(key);
    if (long === undefined) throw invalidField(path === '' ? key.slice(0, 32) : `${path}.${key.slice(0, 32)}`, 'unknown field');
    const child = path === '' ? long : `${path}.${long}`;
    out.set(long, valueFromWire(value, child));
  }
  return out;
}

function valueFromWire(value: unknown, path: string): unknown {
  if (value instanceof Map) return mapFromWire(value, path);
  if (Array.isArray(value)) return value.map((v, i) => valueFromWire(v, `${path}[${i}]`));
  return value;
}
