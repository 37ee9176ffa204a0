import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignalingError, SigCode } from './errors.ts';
import { ID_PATTERN, MAX_TOKEN_CHARS } from './messages.ts';
import type { Role } from './messages.ts';

/*
 * Short-lived signed tokens (server side only: node:crypto):
 *
 *   token   = base64url(payload) "." base64url(HMAC-SHA256(secret, base64url(payload)))
 *   payload = JSON {"role":"edge"|"cloud","sub":ID,"exp":unix ms,"jti":22 base64url chars}
 *
 * The MAC covers the base64url text of the payload, so the payload is authenticated before it is
 * decoded or parsed. Each token is good for one connection: the server remembers its `jti` until
 * `exp` (ReplayGuard) and refuses it a second time.
 */

export interface TokenClaims {
  readonly role: Role;
  /** A cloud token names the worker id; an edge token names the session it may open. */
  readonly sub: string;
  /** Expiry, unix milliseconds. */
  readonly exp: number;
  /** Random id (16 bytes, base64url), so a replayed token is recognised. */
  readonly jti: string;
}

/** Secrets shorter than this are refused (HMAC-SHA256 wants ≥ 32 bytes of key). */
export const MIN_SECRET_BYTES = 32;
/** Lifetime `mintToken` gives a token when none is asked for. */
export const DEFAULT_TOKEN_TTL_MS = 60_000;

const JTI_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;
const SIGNATURE_CHARS = 43; // 32 bytes, base64url without padding

/** The secret as bytes (a string is taken as UTF-8). @throws RangeError when shorter than 32 bytes. */
export function secretBytes(secret: Uint8Array | string): Uint8Array {
  const b = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (b.length < MIN_SECRET_BYTES) {
    throw new RangeError(`a token secret needs at least ${MIN_SECRET_BYTES} bytes, got ${b.length}`);
  }
  return b;
}

/** A fresh random secret (32 bytes). */
export function generateSecret(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

function mac(secret: Uint8Array, payloadPart: string): Buffer {
  return createHmac('sha256', secret).update(payloadPart, 'ascii').digest();
}

export interface MintOptions {
  /** Clock, unix ms (tests). */
  now?: number;
}

/**
 * Mints a token for `claims` valid `ttlMs` from now, with a fresh random `jti`.
 * @throws RangeError for a short secret, a `sub` outside ID_PATTERN, an unknown role or a ttl that
 *   is not a positive integer.
 */
export function mintToken(
  secret: Uint8Array | string,
  claims: { role: Role; sub: string },
  ttlMs: number = DEFAULT_TOKEN_TTL_MS,
  options: MintOptions = {},
): string {
  const key = secretBytes(secret);
  if (claims.role !== 'edge' && claims.role !== 'cloud') throw new RangeError(`token role must be edge or cloud, got ${String(claims.role)}`);
  if (!ID_PATTERN.test(claims.sub)) throw new RangeError(`token sub must match ${ID_PATTERN}, got ${JSON.stringify(claims.sub)}`);
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`token ttlMs must be a positive integer, got ${ttlMs}`);
  const now = options.now ?? Date.now();
  const payload: TokenClaims = {
    role: claims.role,
    sub: claims.sub,
    exp: now + ttlMs,
    jti: randomBytes(16).toString('base64url'),
  };
  const part = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${part}.${mac(key, part).toString('base64url')}`;
}

export interface VerifyOptions {
  /** Clock, unix ms. */
  now?: number;
  /** Refuse tokens whose `exp` is further than this in the future (SIG_AUTH_TTL). */
  maxTtlMs?: number;
}

function malformed(why: string): SignalingError {
  return new SignalingError(SigCode.AuthMalformed, why);
}

/**
 * Checks a token's form, signature (constant time) and lifetime, and returns its claims.
 * Replay is checked by the caller, which owns the set of used `jti`s (ReplayGuard).
 * @throws SignalingError SIG_AUTH_MALFORMED (not a token, bad claims), SIG_AUTH_INVALID (signature),
 *   SIG_AUTH_EXPIRED, SIG_AUTH_TTL.
 */
export function verifyToken(secret: Uint8Array | string, token: string, options: VerifyOptions = {}): TokenClaims {
  const key = secretBytes(secret);
  if (token.length === 0) throw malformed('empty token');
  if (token.length > MAX_TOKEN_CHARS) throw malformed(`token longer than ${MAX_TOKEN_CHARS} characters`);
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) throw malformed('token is not payload.signature');
  const part = token.slice(0, dot);
  const sigPart = token.slice(dot + 1);
  if (!B64URL.test(part) || !B64URL.test(sigPart)) throw malformed('token is not base64url');
  // A signature of the wrong length cannot be ours: treat it as forged, not malformed.
  const given = sigPart.length === SIGNATURE_CHARS ? Buffer.from(sigPart, 'base64url') : Buffer.alloc(0);
  const expected = mac(key, part);
  // timingSafeEqual needs equal lengths; compare against a same-length buffer either way.
  const same = given.length === expected.length && timingSafeEqual(given, expected);
  // Non-canonical base64url (stray low bits in the last character) decodes to the same bytes: refuse it.
  if (!same || given.toString('base64url') !== sigPart) throw new SignalingError(SigCode.AuthInvalid, 'token signature does not match');

  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw malformed('token payload is not JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw malformed('token payload is not an object');
  const c = claims as Record<string, unknown>;
  const keys = Object.keys(c);
  if (keys.length !== 4 || !['role', 'sub', 'exp', 'jti'].every((k) => Object.hasOwn(c, k))) {
    throw malformed(`token claims must be exactly role, sub, exp, jti; got ${keys.slice(0, 8).join(', ')}`);
  }
  if (c.role !== 'edge' && c.role !== 'cloud') throw malformed('token role must be edge or cloud');
  if (typeof c.sub !== 'string' || !ID_PATTERN.test(c.sub)) throw malformed(`token sub must match ${ID_PATTERN}`);
  if (typeof c.exp !== 'number' || !Number.isSafeInteger(c.exp)) throw malformed('token exp must be an integer (unix ms)');
  if (typeof c.jti !== 'string' || !JTI_PATTERN.test(c.jti)) throw malformed('token jti must be 16..64 base64url characters');

  const now = options.now ?? Date.now();
  if (c.exp <= now) throw new SignalingError(SigCode.AuthExpired, `token expired ${now - c.exp} ms ago`);
  if (options.maxTtlMs !== undefined && c.exp - now > options.maxTtlMs) {
    throw new SignalingError(SigCode.AuthTtl, `token valid for ${c.exp - now} ms, more than the ${options.maxTtlMs} ms allowed`);
  }
  return { role: c.role, sub: c.sub, exp: c.exp, jti: c.jti };
}

/**
 * Remembers the `jti` of every accepted token until it expires, so each token authenticates one
 * connection only. Its size is bounded by the tokens minted within the longest allowed lifetime.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  /** Records `claims.jti`. @throws SignalingError SIG_AUTH_REPLAYED when it was seen and is still valid. */
  use(claims: TokenClaims, now: number): void {
    const exp = this.seen.get(claims.jti);
    if (exp !== undefined && exp > now) throw new SignalingError(SigCode.AuthReplayed, 'token already used');
    this.seen.set(claims.jti, claims.exp);
  }

  /** Forgets expired entries (an expired token is refused as expired anyway). */
  prune(now: number): void {
    for (const [jti, exp] of this.seen) if (exp <= now) this.seen.delete(jti);
  }

  get size(): number {
    return this.seen.size;
  }
}
