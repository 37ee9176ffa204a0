import { describe, expect, it } from 'vitest';
import { CLOSE_CODE_OF, codeOfClose, SignalingError, SigCode, SERVER_SENT_CODES } from '../src/errors.ts';
import {
  encodeMessage,
  errorMessage,
  MAX_ERROR_MESSAGE_CHARS,
  parseClientMessage,
  parseServerMessage,
  type ClientMessage,
  type ServerMessage,
} from '../src/messages.ts';
import { expectCode } from './helpers.ts';

const client = (m: unknown) => () => parseClientMessage(typeof m === 'string' ? m : JSON.stringify(m));
const offer = { kind: 'sdp', description: { type: 'offer', sdp: 'v=0\r\n' } };

const VALID_CLIENT: ClientMessage[] = [
  { type: 'hello', token: 'a.b' },
  { type: 'register-worker' },
  { type: 'worker-status', status: 'available' },
  { type: 'worker-status', status: 'busy' },
  { type: 'open-session' },
  { type: 'signal', session: 's-1', data: { kind: 'sdp', description: { type: 'offer', sdp: 'v=0' } } },
  { type: 'signal', session: 's-1', data: { kind: 'sdp', description: { type: 'answer', sdp: 'v=0' } } },
  { type: 'signal', session: 's.1_x', data: { kind: 'candidate', candidate: null } },
  { type: 'signal', session: 's', data: { kind: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host' } } },
  {
    type: 'signal',
    session: 's',
    data: { kind: 'candidate', candidate: { candidate: '', sdpMid: null, sdpMLineIndex: null, usernameFragment: null } },
  },
  { type: 'signal', session: 's', data: { kind: 'candidate', candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'u' } } },
  { type: 'leave', session: 's' },
  { type: 'ping' },
];

describe('parseClientMessage', () => {
  it('accepts every message type and round-trips it exactly', () => {
    for (const m of VALID_CLIENT) expect(parseClientMessage(encodeMessage(m))).toEqual(m);
  });

  it('SIG_INVALID_JSON for text that is not JSON', () => {
    for (const t of ['', 'not json', '{', '{"type":"ping",}', "{'type':'ping'}", '\u0000']) expectCode(client(t), SigCode.InvalidJson);
  });

  it('SIG_NOT_OBJECT for JSON that is not an object', () => {
    for (const t of ['[]', '[{"type":"ping"}]', '1', 'null', '"ping"', 'true']) expectCode(client(t), SigCode.NotObject);
  });

  it('SIG_MISSING_FIELD', () => {
    expectCode(client({}), SigCode.MissingField);
    expectCode(client({ token: 'x' }), SigCode.MissingField);
    expectCode(client({ type: 'hello' }), SigCode.MissingField);
    expectCode(client({ type: 'worker-status' }), SigCode.MissingField);
    expectCode(client({ type: 'signal', session: 's' }), SigCode.MissingField);
    expectCode(client({ type: 'signal', data: offer }), SigCode.MissingField);
    expectCode(client({ type: 'signal', session: 's', data: { description: offer.description } }), SigCode.MissingField);
    expectCode(client({ type: 'signal', session: 's', data: { kind: 'sdp' } }), SigCode.MissingField);
    expectCode(client({ type: 'signal', session: 's', data: { kind: 'sdp', description: { type: 'offer' } } }), SigCode.MissingField);
    expectCode(client({ type: 'signal', session: 's', data: { kind: 'candidate' } }), SigCode.MissingField);
    expectCode(client({ type: 'signal', session: 's', data: { kind: 'candidate', candidate: { sdpMid: '0' } } }), SigCode.MissingField);
    expectCode(client({ type: 'leave' }), SigCode.MissingField);
  });

  it('SIG_UNKNOWN_FIELD for extra fields, at any level', () => {
    expectCode(client({ type: 'ping', id: 1 }), SigCode.UnknownField);
    expectCode(client({ type: 'open-session', worker: 'w1' }), SigCode.UnknownField);
    expectCode(client({ type: 'hello', token: 'a.b', role: 'cloud' }), SigCode.UnknownField);
    expectCode(client({ type: 'signal', session: 's', data: offer, to: 'w2' }), SigCode.UnknownField);
    expectCode(client({ type: 'signal', session: 's', data: { ...offer, candidate: null } }), SigCode.UnknownField);
    expectCode(client({ type: 'signal', session: 's', data: { kind: 'sdp', description: { type: 'offer', sdp: 'x', extra: 1 } } }), SigCode.UnknownField);
    expectCode(client({ type: 'signal', session: 's', data: { kind: 'candidate', candidate: { candidate: 'c', port: 1 } } }), SigCode.UnknownField);
  });

  it('SIG_INVALID_FIELD for wrong types, ranges and patterns', () => {
    const cases: unknown[] = [
      { type: 7 },
      { type: null },
      { type: 'hello', token: 5 },
      { type: 'hello', token: null },
      { type: 'worker-status', status: 'idle' },
      { type: 'worker-status', status: true },
      { type: 'signal', session: '', data: offer },
      { type: 'signal', session: 'a b', data: offer },
      { type: 'signal', session: 'x'.repeat(65), data: offer },
      { type: 'signal', session: 5, data: offer },
      { type: 'signal', session: 's', data: null },
      { type: 'signal', session: 's', data: [offer] },
      { type: 'signal', session: 's', data: 'offer' },
      { type: 'signal', session: 's', data: { kind: 'bye' } },
      { type: 'signal', session: 's', data: { kind: 'sdp', description: { type: 'pranswer', sdp: 'x' } } },
      { type: 'signal', session: 's', data: { kind: 'sdp', description: { type: 'offer', sdp: '' } } },
      { type: 'signal', session: 's', data: { kind: 'sdp', description: { type: 'offer', sdp: 1 } } },
      { type: 'signal', session: 's', data: { kind: 'sdp', description: 'v=0' } },
      { type: 'signal', session: 's', data: { kind: 'candidate', candidate: 'candidate:1' } },
      { type: 'signal', session: 's', data: { kind: 'candidate', candidate: { candidate: 'c', sdpMLineIndex: 0.5 } } },
      { type: 'signal', session: 's', data: { kind: 'candidate', candidate: { candidate: 'c', sdpMLineIndex: -1 } } },
      { type: 'signal', session: 's', data: { kind: 'candidate', candidate: { candidate: 'c', sdpMid: 0 } } },
      { type: 'leave', session: ['s'] },
    ];
    for (const c of cases) expectCode(client(c), SigCode.InvalidField);
  });

  it('SIG_UNKNOWN_TYPE for unknown types and server-only types', () => {
    for (const type of ['foo', 'welcome', 'session-assigned', 'error', 'HELLO', '']) expectCode(client({ type }), SigCode.UnknownType);
  });

  it('SIG_FORBIDDEN_KEY for prototype keys, before anything else', () => {
    expectCode(client('{"__proto__":{"x":1},"type":"ping"}'), SigCode.ForbiddenKey);
    expectCode(client('{"type":"nope","constructor":1}'), SigCode.ForbiddenKey);
    expectCode(client('{"type":"signal","session":"s","data":{"kind":"sdp","__proto__":null}}'), SigCode.ForbiddenKey);
    expectCode(
      client('{"type":"signal","session":"s","data":{"kind":"candidate","candidate":{"candidate":"c","prototype":1}}}'),
      SigCode.ForbiddenKey,
    );
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('never quotes the token in an error', () => {
    const err = expectCode(client({ type: 'hello', token: 12345678 }), SigCode.InvalidField);
    expect(err.message).not.toContain('12345678');
  });
});

describe('parseServerMessage', () => {
  const VALID_SERVER: ServerMessage[] = [
    { type: 'welcome', role: 'edge', id: 's1', limits: { maxMessageBytes: 65536, messagesPerSecond: 20, messageBurst: 40, idleTimeoutMs: 60000 } },
    { type: 'registered', worker: 'w1', capacity: 1 },
    { type: 'session-assigned', session: 's1', worker: 'w1' },
    { type: 'signal', session: 's1', data: { kind: 'candidate', candidate: null } },
    { type: 'session-closed', session: 's1', reason: 'peer-lost' },
    { type: 'pong' },
    { type: 'error', code: 'SIG_NO_WORKER', message: 'none', re: 'open-session' },
    { type: 'error', code: 'SIG_INVALID_JSON', message: '', re: null },
  ];

  it('accepts every server message and round-trips it', () => {
    for (const m of VALID_SERVER) expect(parseServerMessage(encodeMessage(m))).toEqual(m);
  });

  it('is as strict as the server', () => {
    const server = (m: unknown) => () => parseServerMessage(JSON.stringify(m));
    expectCode(server({ type: 'hello', token: 'x' }), SigCode.UnknownType);
    expectCode(server({ type: 'pong', extra: 1 }), SigCode.UnknownField);
    expectCode(server({ type: 'session-closed', session: 's', reason: 'because' }), SigCode.InvalidField);
    expectCode(server({ type: 'error', code: 'SIG_MADE_UP', message: '', re: null }), SigCode.InvalidField);
    expectCode(server({ type: 'error', code: 'SIG_TIMEOUT', message: '', re: null }), SigCode.InvalidField); // client-only code
    expectCode(server({ type: 'error', code: 'SIG_NO_WORKER', message: 'x'.repeat(MAX_ERROR_MESSAGE_CHARS + 1), re: null }), SigCode.InvalidField);
    expectCode(server({ type: 'welcome', role: 'edge', id: 's', limits: { maxMessageBytes: 1 } }), SigCode.MissingField);
    expectCode(server({ type: 'registered', worker: 'w', capacity: 0 }), SigCode.InvalidField);
  });
});

describe('errors', () => {
  it('every code has a close code entry; fatal ones use the documented codes', () => {
    for (const code of Object.values(SigCode)) expect(Object.hasOwn(CLOSE_CODE_OF, code), code).toBe(true);
    const used = new Set(Object.values(CLOSE_CODE_OF));
    for (const c of used) if (c !== null) expect([1002, 1007, 1009, 1011, 1013, 4400, 4401, 4403, 4408, 4429]).toContain(c);
    expect(codeOfClose(1009)).toBe(SigCode.TooLarge);
    expect(codeOfClose(1000)).toBeNull();
    expect(SERVER_SENT_CODES.has(SigCode.Timeout)).toBe(false);
    expect(SERVER_SENT_CODES.has(SigCode.NotMember)).toBe(true);
  });

  it('error frames are cut to MAX_ERROR_MESSAGE_CHARS and keep the code', () => {
    const m = errorMessage(new SignalingError(SigCode.InvalidField, 'y'.repeat(1000)), 'signal');
    expect(m).toMatchObject({ type: 'error', code: 'SIG_INVALID_FIELD', re: 'signal' });
    expect((m as { message: string }).message.length).toBe(MAX_ERROR_MESSAGE_CHARS);
    expect(parseServerMessage(encodeMessage(m))).toEqual(m);
  });
});
