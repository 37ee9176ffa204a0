import { describe, expect, it } from 'vitest';
import { SignalingError, SigCode } from '../src/errors.ts';
import { mintToken, ReplayGuard, verifyToken, type TokenClaims } from '../src/tokens.ts';
import { SECRET, signPayload } from './helpers.ts';
import { expectCode } from './helpers.ts';

const NOW = 1_800_000_000_000;
const OTHER = new Uint8Array(32).fill(7);

describe('mintToken / verifyToken', () => {
  it('round-trips role, sub, exp and a fresh random jti', () => {
    const t = mintToken(SECRET, { role: 'cloud', sub: 'gpu-1' }, 30_000, { now: NOW });
    expect(t).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const c = verifyToken(SECRET, t, { now: NOW + 1 });
    expect(c).toMatchObject({ role: 'cloud', sub: 'gpu-1', exp: NOW + 30_000 });
    expect(c.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const again = verifyToken(SECRET, mintToken(SECRET, { role: 'cloud', sub: 'gpu-1' }, 30_000, { now: NOW }), { now: NOW });
    expect(again.jti).not.toBe(c.jti);
    // The payload is plain JSON with exactly the four claims.
    const payload = JSON.parse(Buffer.from(t.split('.')[0] as string, 'base64url').toString()) as Record<string, unknown>;
    expect(Object.keys(payload).sort()).toEqual(['exp', 'jti', 'role', 'sub']);
  });

  it('accepts a string secret (UTF-8) and refuses short secrets', () => {
    const s = 'x'.repeat(32);
    expect(verifyToken(s, mintToken(s, { role: 'edge', sub: 's' })).sub).toBe('s');
    expect(() => mintToken('short', { role: 'edge', sub: 's' })).toThrow(RangeError);
    expect(() => verifyToken(new Uint8Array(31), 'a.b')).toThrow(RangeError);
  });

  it('refuses bad mint arguments', () => {
    expect(() => mintToken(SECRET, { role: 'edge', sub: 'has space' })).toThrow(RangeError);
    expect(() => mintToken(SECRET, { role: 'edge', sub: '' })).toThrow(RangeError);
    expect(() => mintToken(SECRET, { role: 'admin' as 'edge', sub: 'a' })).toThrow(RangeError);
    expect(() => mintToken(SECRET, { role: 'edge', sub: 'a' }, 0)).toThrow(RangeError);
    expect(() => mintToken(SECRET, { role: 'edge', sub: 'a' }, 1.5)).toThrow(RangeError);
  });

  it('forged: signed with another secret → SIG_AUTH_INVALID', () => {
    expectCode(() => verifyToken(SECRET, mintToken(OTHER, { role: 'edge', sub: 'a' })), SigCode.AuthInvalid);
  });

  it('modified payload (role swapped, signature kept) → SIG_AUTH_INVALID', () => {
    const t = mintToken(SECRET, { role: 'edge', sub: 'a' }, 30_000, { now: NOW });
    const [part, sig] = t.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString()) as TokenClaims;
    const swapped = Buffer.from(JSON.stringify({ ...claims, role: 'cloud' })).toString('base64url');
    expectCode(() => verifyToken(SECRET, `${swapped}.${sig}`, { now: NOW }), SigCode.AuthInvalid);
    const longer = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 1 })).toString('base64url');
    expectCode(() => verifyToken(SECRET, `${longer}.${sig}`, { now: NOW }), SigCode.AuthInvalid);
  });

  it('modified, truncated, extended or non-canonical signature → SIG_AUTH_INVALID', () => {
    const t = mintToken(SECRET, { role: 'edge', sub: 'a' }, 30_000, { now: NOW });
    const [part, sig] = t.split('.') as [string, string];
    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    expectCode(() => verifyToken(SECRET, `${part}.${flip(sig[0] as string)}${sig.slice(1)}`, { now: NOW }), SigCode.AuthInvalid);
    expectCode(() => verifyToken(SECRET, `${part}.${sig.slice(0, -1)}`, { now: NOW }), SigCode.AuthInvalid);
    expectCode(() => verifyToken(SECRET, `${part}.${sig}AA`, { now: NOW }), SigCode.AuthInvalid);
    // 43 chars carry 258 bits; the last character's 2 low bits are padding. Setting them gives the
    // same bytes, but a different string: refused.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.slice(-1));
    const noncanonical = `${sig.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(Buffer.from(noncanonical, 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    expectCode(() => verifyToken(SECRET, `${part}.${noncanonical}`, { now: NOW }), SigCode.AuthInvalid);
  });

  it('not a token → SIG_AUTH_MALFORMED', () => {
    for (const bad of ['', 'abc', '.abc', 'abc.', 'a.b.c', 'a b.c', 'a.b=', 'a+b.c', `${'a'.repeat(1100)}.b`]) {
      expectCode(() => verifyToken(SECRET, bad), SigCode.AuthMalformed);
    }
  });

  it('validly signed but bad claims → SIG_AUTH_MALFORMED', () => {
    const good = { role: 'edge', sub: 'a', exp: NOW + 1000, jti: 'AAAAAAAAAAAAAAAAAAAAAA' };
    const cases: unknown[] = [
      { ...good, extra: 1 },
      { role: 'edge', sub: 'a', exp: NOW + 1000 },
      { ...good, role: 'admin' },
      { ...good, sub: '../etc' },
      { ...good, exp: NOW + 0.5 },
      { ...good, exp: String(NOW + 1000) },
      { ...good, jti: 'short' },
      [good],
      'string',
    ];
    for (const c of cases) expectCode(() => verifyToken(SECRET, signPayload(SECRET, JSON.stringify(c)), { now: NOW }), SigCode.AuthMalformed);
    expectCode(() => verifyToken(SECRET, signPayload(SECRET, '{not json'), { now: NOW }), SigCode.AuthMalformed);
    expect(verifyToken(SECRET, signPayload(SECRET, JSON.stringify(good)), { now: NOW }).sub).toBe('a');
  });

  it('expired → SIG_AUTH_EXPIRED (exp is exclusive)', () => {
    const t = mintToken(SECRET, { role: 'edge', sub: 'a' }, 1000, { now: NOW });
    expect(verifyToken(SECRET, t, { now: NOW + 999 }).sub).toBe('a');
    expectCode(() => verifyToken(SECRET, t, { now: NOW + 1000 }), SigCode.AuthExpired);
    expectCode(() => verifyToken(SECRET, t, { now: NOW + 86_400_000 }), SigCode.AuthExpired);
  });

  it('longer-lived than maxTtlMs → SIG_AUTH_TTL', () => {
    const t = mintToken(SECRET, { role: 'edge', sub: 'a' }, 3_600_000, { now: NOW });
    expect(verifyToken(SECRET, t, { now: NOW }).sub).toBe('a');
    expectCode(() => verifyToken(SECRET, t, { now: NOW, maxTtlMs: 600_000 }), SigCode.AuthTtl);
    expect(verifyToken(SECRET, t, { now: NOW + 3_000_001, maxTtlMs: 600_000 }).sub).toBe('a');
  });
});

describe('ReplayGuard', () => {
  it('accepts a jti once while it is valid, and forgets it after expiry', () => {
    const g = new ReplayGuard();
    const c = verifyToken(SECRET, mintToken(SECRET, { role: 'edge', sub: 'a' }, 1000, { now: NOW }), { now: NOW });
    g.use(c, NOW);
    expectCode(() => g.use(c, NOW + 10), SigCode.AuthReplayed);
    expect(g.size).toBe(1);
    g.prune(NOW + 999);
    expect(g.size).toBe(1);
    g.prune(NOW + 1000);
    expect(g.size).toBe(0);
  });
});
