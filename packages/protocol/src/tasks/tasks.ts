/**
 * The four UniMIC tasks as one shared data table, so the edge and the cloud peer agree on
 * which token sets travel in each direction and on which stream id each set uses.
 *
 * Direction: `up` = edge (client) -> cloud, `down` = cloud -> edge.
 */
import { ErrorCode, ProtocolError } from '../errors.ts';

/** Closed vocabulary of token sets that can travel on a session. */
export const TOKEN_SET_NAMES = [
  'image:full',
  'image:unmasked',
  'image:masked',
  'image:extension',
  'mask',
  'text:prompt',
  'text:question',
  'text:answer',
] as const;
export type TokenSetName = (typeof TOKEN_SET_NAMES)[number];

/** Codec family that carries a token set: image tokens, BPE text, or a packed bitmap. */
export type TokenSetCodec = 'image' | 'text' | 'mask';

/** Stream ids are 3 bits on the wire. */
export type StreamId = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/**
 * One stream id per token set, fixed across tasks and directions: a receiver can tell what
 * a chunk carries from its stream id alone, and eight sets fill the 3-bit space exactly.
 */
export const STREAM_IDS: Readonly<Record<TokenSetName, StreamId>> = Object.freeze({
  'image:full': 0,
  'image:unmasked': 1,
  'image:masked': 2,
  'image:extension': 3,
  mask: 4,
  'text:prompt': 5,
  'text:question': 6,
  'text:answer': 7,
});

const CODECS: Readonly<Record<TokenSetName, TokenSetCodec>> = Object.freeze({
  'image:full': 'image',
  'image:unmasked': 'image',
  'image:masked': 'image',
  'image:extension': 'image',
  mask: 'mask',
  'text:prompt': 'text',
  'text:question': 'text',
  'text:answer': 'text',
});

export interface TokenSetSpec {
  readonly set: TokenSetName;
  readonly stream: StreamId;
  readonly codec: TokenSetCodec;
  /** false: the sender may omit the set (e.g. the prompt of an inpainting request). */
  readonly required: boolean;
}

export const TASK_NAMES = ['t2i', 'inpaint', 'outpaint', 'vqa'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export interface TaskSpec {
  readonly name: TaskName;
  readonly description: string;
  /** edge -> cloud */
  readonly up: readonly TokenSetSpec[];
  /** cloud -> edge */
  readonly down: readonly TokenSetSpec[];
  /** The request carries an extension geometry (side, amount): see extensionGeometry(). */
  readonly needsExtension: boolean;
}

function spec(set: TokenSetName, required: boolean): TokenSetSpec {
  return Object.freeze({ set, stream: STREAM_IDS[set], codec: CODECS[set], required });
}

function task(
  name: TaskName,
  description: string,
  up: TokenSetSpec[],
  down: TokenSetSpec[],
  needsExtension = false,
): TaskSpec {
  return Object.freeze({ name, description, up: Object.freeze(up), down: Object.freeze(down), needsExtension });
}

/** The table itself. Frozen all the way down: both peers import the same object. */
export const TASKS: Readonly<Record<TaskName, TaskSpec>> = Object.freeze({
  t2i: task('t2i', 'text-to-image: prompt up, the full image token grid down', [spec('text:prompt', true)], [
    spec('image:full', true),
  ]),
  inpaint: task(
    'inpaint',
    'inpainting: unmasked image tokens, the mask and an optional prompt up; only the masked tokens down',
    [spec('image:unmasked', true), spec('mask', true), spec('text:prompt', false)],
    [spec('image:masked', true)],
  ),
  outpaint: task(
    'outpaint',
    'outpainting: all image tokens, the extension geometry and an optional prompt up; only the new region down',
    [spec('image:full', true), spec('text:prompt', false)],
    [spec('image:extension', true)],
    true,
  ),
  vqa: task(
    'vqa',
    'visual question answering: image tokens and the question up; the answer text tokens down',
    [spec('image:full', true), spec('text:question', true)],
    [spec('text:answer', true)],
  ),
});

/** Looks up a task; anything not in TASK_NAMES (including '__proto__') is ERR_UNKNOWN_TYPE. */
export function taskSpec(name: string): TaskSpec {
  // includes() rather than `name in TASKS`: the latter would accept inherited keys.
  if (typeof name !== 'string' || !(TASK_NAMES as readonly string[]).includes(name)) {
    throw new ProtocolError(ErrorCode.UnknownType, `unknown task ${JSON.stringify(name)}; expected one of ${TASK_NAMES.join(', ')}`);
  }
  return TASKS[name as TaskName];
}

/** Token set carried by a stream id (the inverse of STREAM_IDS). Not 0..7 -> ERR_UNKNOWN_TYPE. */
export function tokenSetOfStream(stream: number): TokenSetName {
  const found = TOKEN_SET_NAMES.find((set) => STREAM_IDS[set] === stream);
  if (found === undefined) {
    throw new ProtocolError(ErrorCode.UnknownType, `no token set uses stream id ${String(stream)}`);
  }
  return found;
}
