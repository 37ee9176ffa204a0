import { SignalingError, SigCode, SERVER_SENT_CODES } from './errors.ts';
import type { SigCode as SigCodeT } from './errors.ts';
// Type-only (erased): what `signal` carries is the transport's negotiation message, declared once
// there. The browser entry is named so nothing here can ever pull werift in.
import type { IceCandidateJson, NegotiationMessage, SessionDescriptionJson } from '@unimic/transport/browser';

/*
 * The signaling protocol: one JSON object per WebSocket text frame. Every message is validated
 * strictly in both directions: unknown `type`, missing or extra fields, wrong types, ids outside their
 * pattern and prototype keys are errors with a stable code (errors.ts), never a default branch.
 * Validated messages are rebuilt field by field, so nothing unvalidated is ever relayed.
 * Pure logic, no ws and no node: imports (the browser client uses this file as is).
 *
 *   client → server                              server → client
 *   hello { token }                              welcome { role, id, limits }
 *   register-worker { }              (cloud)     registered { worker, capacity }
 *   worker-status { status }         (cloud)     session-assigned { session, worker }   (to both members)
 *   open-session { }                 (edge)      signal { session, data }               (from the other member)
 *   signal { session, data }         (members)   session-closed { session, reason }
 *   leave { session }                (members)   pong { }
 *   ping { }                                     error { code, message, re }
 */

export type Role = 'edge' | 'cloud';
export type WorkerStatus = 'available' | 'busy';

export type { IceCandidateJson, SessionDescriptionJson };

/**
 * What `signal` carries between the two members: an SDP, or one trickled ICE candidate (null: end of
 * candidates): the transport's negotiation message. The server validates it (parseSignalData) and
 * relays it as it is.
 */
export type SignalData = NegotiationMessage;

export type ClientMessage =
  | { type: 'hello'; token: string }
  | { type: 'register-worker' }
  | { type: 'worker-status'; status: WorkerStatus }
  | { type: 'open-session' }
  | { type: 'signal'; session: string; data: SignalData }
  | { type: 'leave'; session: string }
  | { type: 'ping' };

export type ClientMessageType = ClientMessage['type'];

/** Why a session ended, as told to a member. */
export type SessionCloseReason =
  /** You sent `leave`. */
  | 'left'
  /** The other member sent `leave`. */
  | 'peer-left'
  /** The other member's connection closed cleanly (close frame), possibly after a protocol error. */
  | 'peer-disconnected'
  /** The other member vanished: heartbeat timeout, or the socket died without a close frame. */
  | 'peer-lost'
  /** The server is shutting down. */
  | 'server-shutdown';

/** Limits a client needs to know (sent in `welcome`). */
export interface ClientLimits {
  maxMessageBytes: number;
  messagesPerSecond: number;
  messageBurst: number;
  idleTimeoutMs: number;
}

export type ServerMessage =
  | { type: 'welcome'; role: Role; id: string; limits: ClientLimits }
  | { type: 'registered'; worker: string; capacity: number }
  | { type: 'session-assigned'; session: string; worker: string }
  | { type: 'signal'; session: string; data: SignalData }
  | { type: 'session-closed'; session: string; reason: SessionCloseReason }
  | { type: 'pong' }
  | { type: 'error'; code: SigCodeT; message: string; re: ClientMessageType | null };

export type ServerMessageType = ServerMessage['type'];

export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = Object.freeze([
  'hello',
  'register-worker',
  'worker-status',
  'open-session',
  'signal',
  'leave',
  'ping',
]);
export const SERVER_MESSAGE_TYPES: readonly ServerMessageType[] = Object.freeze([
  'welcome',
  'registered',
  'session-assigned',
  'signal',
  'session-closed',
  'pong',
  'error',
]);
export const SESSION_CLOSE_REASONS: readonly SessionCloseReason[] = Object.freeze([
  'left',
  'peer-left',
  'peer-disconnected',
  'peer-lost',
  'server-shutdown',
]);

/** Worker ids, session ids (an edge token's `sub`): 1–64 of `A–Z a–z 0–9 . _ -`. */
export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** Longest token accepted in `hello` (a real one is about 150 characters). */
export const MAX_TOKEN_CHARS = 1024;
/** Longest `message` in an error frame; longer ones are cut (they may echo client input). */
export const MAX_ERROR_MESSAGE_CHARS = 300;
/** Longest ICE `sdpMid` / `usernameFragment` accepted. */
const MAX_MID_CHARS = 256;

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// --- small checkers ------------------------------------------------------------------------------

/** Quotes client input for an error message, cut short. */
function show(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function invalid(path: string, want: string, v: unknown): SignalingError {
  return new SignalingError(SigCode.InvalidField, `${path}: need ${want}, got ${describe(v)} ${show(v)}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks that `o` has exactly the `required` keys plus any of `optional`, none of them a prototype key.
 * Order: forbidden key, unknown key, missing key (so the first failure is stable).
 */
function checkKeys(o: Record<string, unknown>, path: string, required: readonly string[], optional: readonly string[] = []): void {
  const keys = Object.keys(o);
  for (const k of keys) {
    if (FORBIDDEN_KEYS.has(k)) throw new SignalingError(SigCode.ForbiddenKey, `${path}: forbidden key ${show(k)}`);
  }
  for (const k of keys) {
    if (!required.includes(k) && !optional.includes(k)) {
      throw new SignalingError(SigCode.UnknownField, `${path}: unexpected field ${show(k)}`);
    }
  }
  for (const k of required) {
    if (!Object.hasOwn(o, k)) throw new SignalingError(SigCode.MissingField, `${path}: missing field "${k}"`);
  }
}

function object(v: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(v)) throw invalid(path, 'an object', v);
  return v;
}

function string(v: unknown, path: string, min: number, max: number): string {
  if (typeof v !== 'string' || v.length < min || v.length > max) {
    throw invalid(path, `a string of ${min}..${max} characters`, v);
  }
  return v;
}

function id(v: unknown, path: string): string {
  if (typeof v !== 'string' || !ID_PATTERN.test(v)) throw invalid(path, `an id matching ${ID_PATTERN}`, v);
  return v;
}

function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw invalid(path, `one of ${values.join(', ')}`, v);
  }
  return v as T;
}

function integer(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(path, `an integer in [${min}, ${max}]`, v);
  }
  return v;
}

// --- signal payload ------------------------------------------------------------------------------

function parseCandidate(v: unknown, path: string, maxChars: number): IceCandidateJson | null {
  if (v === null) return null;
  const o = object(v, path);
  checkKeys(o, path, ['candidate'], ['sdpMid', 'sdpMLineIndex', 'usernameFragment']);
  const out: IceCandidateJson = { candidate: string(o.candidate, `${path}.candidate`, 0, maxChars) };
  if (Object.hasOwn(o, 'sdpMid')) out.sdpMid = o.sdpMid === null ? null : string(o.sdpMid, `${path}.sdpMid`, 0, MAX_MID_CHARS);
  if (Object.hasOwn(o, 'sdpMLineIndex')) {
    out.sdpMLineIndex = o.sdpMLineIndex === null ? null : integer(o.sdpMLineIndex, `${path}.sdpMLineIndex`, 0, 65_535);
  }
  if (Object.hasOwn(o, 'usernameFragment')) {
    out.usernameFragment =
      o.usernameFragment === null ? null : string(o.usernameFragment, `${path}.usernameFragment`, 0, MAX_MID_CHARS);
  }
  return out;
}

/** Validates the payload of a `signal` message. @throws SignalingError */
export function parseSignalData(v: unknown, path = 'signal.data', maxChars = 16 * 1024 * 1024): SignalData {
  const o = object(v, path);
  if (!Object.hasOwn(o, 'kind')) {
    checkKeys(o, path, [], ['kind', 'description', 'candidate']);
    throw new SignalingError(SigCode.MissingField, `${path}: missing field "kind"`);
  }
  const kind = oneOf(o.kind, `${path}.kind`, ['sdp', 'candidate'] as const);
  if (kind === 'sdp') {
    checkKeys(o, path, ['kind', 'description']);
    const d = object(o.description, `${path}.description`);
    checkKeys(d, `${path}.description`, ['type', 'sdp']);
    return {
      kind,
      description: {
        type: oneOf(d.type, `${path}.description.type`, ['offer', 'answer'] as const),
        sdp: string(d.sdp, `${path}.description.sdp`, 1, maxChars),
      },
    };
  }
  checkKeys(o, path, ['kind', 'candidate']);
  return { kind, candidate: parseCandidate(o.candidate, `${path}.candidate`, maxChars) };
}

// --- frames --------------------------------------------------------------------------------------

function parseFrame(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new SignalingError(SigCode.InvalidJson, `frame is not JSON (${text.length} characters)`);
  }
  if (!isPlainObject(v)) throw new SignalingError(SigCode.NotObject, `frame must be a JSON object, got ${describe(v)}`);
  return v;
}

function typeOf(o: Record<string, unknown>, known: readonly string[]): string {
  for (const k of Object.keys(o)) {
    if (FORBIDDEN_KEYS.has(k)) throw new SignalingError(SigCode.ForbiddenKey, `message: forbidden key ${show(k)}`);
  }
  if (!Object.hasOwn(o, 'type')) throw new SignalingError(SigCode.MissingField, 'message: missing field "type"');
  const t = o.type;
  if (typeof t !== 'string') throw invalid('message.type', 'a string', t);
  if (!known.includes(t)) throw new SignalingError(SigCode.UnknownType, `unknown message type ${show(t)}`);
  return t;
}

/**
 * Parses one text frame sent by a client.
 * @throws SignalingError with code SIG_INVALID_JSON, SIG_NOT_OBJECT, SIG_FORBIDDEN_KEY,
 *   SIG_MISSING_FIELD, SIG_UNKNOWN_TYPE, SIG_UNKNOWN_FIELD or SIG_INVALID_FIELD.
 */
export function parseClientMessage(text: string): ClientMessage {
  const o = parseFrame(text);
  const type = typeOf(o, CLIENT_MESSAGE_TYPES) as ClientMessageType;
  switch (type) {
    case 'hello':
      checkKeys(o, type, ['type', 'token']);
      // The token's value is never quoted in an error; its length and form are checked by verifyToken.
      if (typeof o.token !== 'string') {
        throw new SignalingError(SigCode.InvalidField, `hello.token: need a string, got ${describe(o.token)}`);
      }
      return { type, token: o.token };
    case 'register-worker':
    case 'open-session':
    case 'ping':
      checkKeys(o, type, ['type']);
      return { type };
    case 'worker-status':
      checkKeys(o, type, ['type', 'status']);
      return { type, status: oneOf(o.status, 'worker-status.status', ['available', 'busy'] as const) };
    case 'signal':
      checkKeys(o, type, ['type', 'session', 'data']);
      return { type, session: id(o.session, 'signal.session'), data: parseSignalData(o.data) };
    case 'leave':
      checkKeys(o, type, ['type', 'session']);
      return { type, session: id(o.session, 'leave.session') };
  }
}

/**
 * Parses one text frame sent by the server (the client trusts nothing either).
 * @throws SignalingError, codes as for parseClientMessage.
 */
export function parseServerMessage(text: string): ServerMessage {
  const o = parseFrame(text);
  const type = typeOf(o, SERVER_MESSAGE_TYPES) as ServerMessageType;
  switch (type) {
    case 'welcome': {
      checkKeys(o, type, ['type', 'role', 'id', 'limits']);
      const l = object(o.limits, 'welcome.limits');
      checkKeys(l, 'welcome.limits', ['maxMessageBytes', 'messagesPerSecond', 'messageBurst', 'idleTimeoutMs']);
      const big = 2_147_483_647;
      return {
        type,
        role: oneOf(o.role, 'welcome.role', ['edge', 'cloud'] as const),
        id: id(o.id, 'welcome.id'),
        limits: {
          maxMessageBytes: integer(l.maxMessageBytes, 'welcome.limits.maxMessageBytes', 1, big),
          messagesPerSecond: integer(l.messagesPerSecond, 'welcome.limits.messagesPerSecond', 1, big),
          messageBurst: integer(l.messageBurst, 'welcome.limits.messageBurst', 1, big),
          idleTimeoutMs: integer(l.idleTimeoutMs, 'welcome.limits.idleTimeoutMs', 1, big),
        },
      };
    }
    case 'registered':
      checkKeys(o, type, ['type', 'worker', 'capacity']);
      return { type, worker: id(o.worker, 'registered.worker'), capacity: integer(o.capacity, 'registered.capacity', 1, 1_000_000) };
    case 'session-assigned':
      checkKeys(o, type, ['type', 'session', 'worker']);
      return { type, session: id(o.session, 'session-assigned.session'), worker: id(o.worker, 'session-assigned.worker') };
    case 'signal':
      checkKeys(o, type, ['type', 'session', 'data']);
      return { type, session: id(o.session, 'signal.session'), data: parseSignalData(o.data) };
    case 'session-closed':
      checkKeys(o, type, ['type', 'session', 'reason']);
      return {
        type,
        session: id(o.session, 'session-closed.session'),
        reason: oneOf(o.reason, 'session-closed.reason', SESSION_CLOSE_REASONS),
      };
    case 'pong':
      checkKeys(o, type, ['type']);
      return { type };
    case 'error': {
      checkKeys(o, type, ['type', 'code', 'message', 're']);
      const code = o.code;
      if (typeof code !== 'string' || !SERVER_SENT_CODES.has(code as SigCodeT)) throw invalid('error.code', 'a signaling error code', code);
      return {
        type,
        code: code as SigCodeT,
        message: string(o.message, 'error.message', 0, MAX_ERROR_MESSAGE_CHARS),
        re: o.re === null ? null : oneOf(o.re, 'error.re', CLIENT_MESSAGE_TYPES),
      };
    }
  }
}

/** One frame's text. Messages are plain data, so this is JSON.stringify; kept here for one place to change. */
export function encodeMessage(m: ClientMessage | ServerMessage): string {
  return JSON.stringify(m);
}

/** The error frame for `err`, its message cut to MAX_ERROR_MESSAGE_CHARS. */
export function errorMessage(err: SignalingError, re: ClientMessageType | null): ServerMessage {
  const detail = err.detail;
  const message = detail.length > MAX_ERROR_MESSAGE_CHARS ? `${detail.slice(0, MAX_ERROR_MESSAGE_CHARS - 3)}...` : detail;
  return { type: 'error', code: err.code, message, re };
}
