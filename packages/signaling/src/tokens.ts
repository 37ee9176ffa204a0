import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignalingError, SigCode } from './errors.ts';

/*
 * Short-lived signed tokens: base64url(JSON claims) "." base64url(HMAC-SHA256(secret, claims part)).
 * The server mints them for its own processes (embedded default) or an operator mints them with
 * the same secret; each is single-use (its `jti` is remembered until it expires).
 */

export type Role = 'edge' | 'cloud';

export interface TokenClaims {
  readonly role: Role;
  /** Who: a worker id for `cloud`, a client id for `edge`. */
  readonly sub: string;
  /** Expiry, unix milliseconds. */
  readonly exp: number;
  /** Random id, so a replayed token can be refused. */
  readonly jti: string;
}

const b64url = (b: Buffer) => b.toString('base64url');
const ID = /^[A-Za-z0-9._-]{1,64}$/;

function sign(secret: Uint8Array, body: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

export function mintToken(secret: Uint8Array, claims: { role: Role; sub: string }, ttlMs = 60_000, now = Date.now()): string {
  if (!ID.test(claims.sub)) throw new RangeError(`token subject must match ${ID}`);
  const full: TokenClaims = { role: claims.role, sub: claims.sub, exp: now + ttlMs, jti: b64url(randomBytes(12)) };
  const body = b64url(Buffer.from(JSON.stringify(full)));
  return `${body}.${b64url(sign(secret, body))}`;
}

/** Checks signature and expiry; returns the claims. Replay is checked by the caller (it owns the jti set). */
export function verifyToken(secret: Uint8Array, token: unknown, now = Date.now()): TokenClaims {
  if (typeof token !== 'string' || token.length > 1024) throw new SignalingError(SigCode.AuthInvalid, 'token must be a string of ≤ 1024 characters');
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) throw new SignalingError(SigCode.AuthInvalid, 'token is not body.signature');
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = sign(secret, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new SignalingError(SigCode.AuthInvalid, 'bad token signature');
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw new SignalingError(SigCode.AuthInvalid, 'token body is not JSON');
  }
  const c = claims as Partial<TokenClaims>;
  if (
    typeof c !== 'object' || c === null ||
    (c.role !== 'edge' && c.role !== 'cloud') ||
    typeof c.sub !== 'string' || !ID.test(c.sub) ||
    typeof c.exp !== 'number' || typeof c.jti !== 'string' || c.jti.length > 64
  ) {
    throw new SignalingError(SigCode.AuthInvalid, 'token claims malformed');
  }
  if (c.exp <= now) throw new SignalingError(SigCode.AuthExpired, `token expired ${now - c.exp} ms ago`);
  return { role: c.role, sub: c.sub, exp: c.exp, jti: c.jti };
}
