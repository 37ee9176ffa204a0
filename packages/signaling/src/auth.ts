import type { Connection } from './connection.ts';
import { SignalingError, SigCode } from './errors.ts';
import type { Emit } from './events.ts';
import { clientLimits, type SignalingLimits } from './limits.ts';
import type { Role } from './messages.ts';
import { generateSecret, mintToken, ReplayGuard, secretBytes, verifyToken } from './tokens.ts';

/*
 * Who a connection is. The server's secret stays in here; a connection becomes an edge or a cloud
 * worker only through `hello` with a valid, unexpired token that was not used before (the replay
 * guard makes each token good for one connection), and must do so before its deadline.
 */

export interface Auth {
  /** Whether the secret came from the options or was generated at start. */
  readonly secretSource: 'provided' | 'generated';
  /** Starts the connection's `hello` deadline (SIG_AUTH_TIMEOUT when it passes). */
  expectHello(c: Connection): void;
  /**
   * Verifies `token` and marks it used; on success sets the connection's role and id, stops its
   * deadline and sends `welcome`. @throws SignalingError (SIG_AUTH_*).
   */
  authenticate(c: Connection, token: string, now: number): void;
  /** A token signed with this server's secret. */
  mintToken(role: Role, sub: string, ttlMs?: number): string;
  /** Forgets used tokens that have expired (they are refused as expired anyway). */
  prune(now: number): void;
}

/**
 * The authenticator for one server. Without a secret, a random one is made: then only this server's
 * own `mintToken` makes tokens it accepts.
 * @throws RangeError for a secret shorter than 32 bytes.
 */
export function createAuth(secretOption: Uint8Array | string | undefined, limits: SignalingLimits, emit: Emit): Auth {
  const secretSource = secretOption === undefined ? 'generated' : 'provided';
  const secret = secretOption === undefined ? generateSecret() : secretBytes(secretOption);
  const replay = new ReplayGuard();
  return {
    secretSource,
    expectHello: (c) => {
      c.authTimer = setTimeout(() => {
        c.authTimer = null;
        if (c.role === null && !c.closing) {
          c.refuse(new SignalingError(SigCode.AuthTimeout, `no valid hello within ${limits.authTimeoutMs} ms`), null);
        }
      }, limits.authTimeoutMs);
    },
    authenticate: (c, token, now) => {
      const claims = verifyToken(secret, token, { now, maxTtlMs: limits.maxTokenTtlMs });
      replay.use(claims, now);
      c.role = claims.role;
      c.sub = claims.sub;
      if (c.authTimer) clearTimeout(c.authTimer);
      c.authTimer = null;
      c.send({ type: 'welcome', role: claims.role, id: claims.sub, limits: clientLimits(limits) });
      emit({ time: now, event: 'authenticated', conn: c.id, role: claims.role, id: claims.sub });
    },
    mintToken: (role, sub, ttlMs) => mintToken(secret, { role, sub }, ttlMs),
    prune: (now) => replay.prune(now),
  };
}
