import { SignalingError, SigCode } from './errors.ts';

/*
 * The signaling protocol: JSON text frames. Client → server messages are validated strictly
 * (unknown type, missing or extra fields, wrong types → a fatal error); the payload of `signal`
 * is opaque to the server (SDP and ICE candidates) and only size-limited.
 *
 *   client → server                          server → client
 *   hello { token }                           welcome { role, id }
 *   register { }               (cloud)        session { session, peer: 'edge' | 'cloud' }
 *   status { available }       (cloud)        signal { session, data }
 *   open-session { }           (edge)         session-closed { session, reason }
 *   signal { session, data }   (members)      error { code, message }
 *   leave { session }          (members)
 */

export type ClientMessage =
  | { type: 'hello'; token: string }
  | { type: 'register' }
  | { type: 'status'; available: boolean }
  | { type: 'open-session' }
  | { type: 'signal'; session: string; data: unknown }
  | { type: 'leave'; session: string };

export type ServerMessage =
  | { type: 'welcome'; role: 'edge' | 'cloud'; id: string }
  | { type: 'session'; session: string; peer: 'edge' | 'cloud' }
  | { type: 'signal'; session: string; data: unknown }
  | { type: 'session-closed'; session: string; reason: string }
  | { type: 'error'; code: SigCode; message: string };

const FIELDS: Record<ClientMessage['type'], readonly string[]> = {
  hello: ['token'],
  register: [],
  status: ['available'],
  'open-session': [],
  signal: ['session', 'data'],
  leave: ['session'],
};

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

function malformed(why: string): SignalingError {
  return new SignalingError(SigCode.Malformed, why);
}

/** Parses one text frame from a client. Throws SignalingError. */
export function parseClientMessage(text: string): ClientMessage {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw malformed('frame is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed('frame must be a JSON object');
  const o = v as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== 'string') throw malformed('missing "type"');
  if (!Object.hasOwn(FIELDS, type)) throw new SignalingError(SigCode.UnknownType, `unknown message type ${JSON.stringify(type).slice(0, 40)}`);
  const fields = FIELDS[type as ClientMessage['type']];
  for (const key of Object.keys(o)) {
    if (key !== 'type' && !fields.includes(key)) throw malformed(`${type}: unexpected field "${key.slice(0, 40)}"`);
  }
  for (const key of fields) if (!Object.hasOwn(o, key)) throw malformed(`${type}: missing "${key}"`);
  switch (type) {
    case 'hello':
      if (typeof o.token !== 'string') throw malformed('hello.token must be a string');
      return { type, token: o.token };
    case 'status':
      if (typeof o.available !== 'boolean') throw malformed('status.available must be a boolean');
      return { type, available: o.available };
    case 'signal':
      if (typeof o.session !== 'string' || !SESSION_ID.test(o.session)) throw malformed('signal.session must be a session id');
      if (typeof o.data !== 'object' || o.data === null) throw malformed('signal.data must be an object');
      return { type, session: o.session, data: o.data };
    case 'leave':
      if (typeof o.session !== 'string' || !SESSION_ID.test(o.session)) throw malformed('leave.session must be a session id');
      return { type, session: o.session };
    case 'register':
      return { type };
    default:
      return { type: 'open-session' };
  }
}
