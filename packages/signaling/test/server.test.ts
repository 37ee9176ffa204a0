import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import WebSocket from 'ws';
import { firstValueFrom, filter, take, toArray, timeout } from 'rxjs';
import {
  SigCode,
  connectSignaling,
  createSignalingServer,
  mintToken,
  type ServerMessage,
  type SignalingClient,
  type SignalingServer,
} from '../src/index.ts';

let server: SignalingServer;
const clients: SignalingClient[] = [];

beforeEach(async () => {
  server = await createSignalingServer({ limits: { heartbeatMs: 200, authTimeoutMs: 800 } });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

async function join(role: 'edge' | 'cloud', id: string): Promise<SignalingClient> {
  const c = await connectSignaling(server.url, server.mintToken(role, id));
  clients.push(c);
  return c;
}

function next(c: SignalingClient, type: ServerMessage['type'], ms = 3000): Promise<ServerMessage> {
  return firstValueFrom(c.messages$.pipe(filter((m) => m.type === type), take(1), timeout(ms)));
}

/** Raw socket for hostile tests: resolves with the error frame (if any) and the close code. */
async function raw(frames: (string | Buffer)[], waitMs = 1500): Promise<{ errors: string[]; code: number | null }> {
  const ws = new WebSocket(server.url);
  const errors: string[] = [];
  let code: number | null = null;
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as ServerMessage;
    if (m.type === 'error') errors.push(m.code);
  });
  await new Promise<void>((r) => ws.once('open', () => r()));
  for (const f of frames) ws.send(f);
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, waitMs);
    ws.once('close', (c) => {
      code = c;
      clearTimeout(t);
      resolve();
    });
  });
  ws.terminate();
  return { errors, code };
}

describe('signaling server', () => {
  it('pairs an edge with a worker and relays offer, answer and candidates only between them', async () => {
    const cloud = await join('cloud', 'worker-1');
    cloud.registerWorker();
    const edge = await join('edge', 'phone-1');
    await new Promise((r) => setTimeout(r, 50));
    const assigned = next(cloud, 'session');
    const session = await edge.openSession();
    expect(await assigned).toMatchObject({ type: 'session', session, peer: 'edge' });

    const offer = next(cloud, 'signal');
    edge.signal(session, { type: 'offer', sdp: 'v=0…' });
    expect(await offer).toMatchObject({ session, data: { type: 'offer', sdp: 'v=0…' } });
    const answer = next(edge, 'signal');
    cloud.signal(session, { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host' });
    expect(await answer).toMatchObject({ data: { candidate: expect.stringContaining('127.0.0.1') } });

    // A third party (even an authenticated edge) cannot inject into the session.
    const intruder = await join('edge', 'intruder');
    const refused = next(intruder, 'error');
    intruder.signal(session, { type: 'offer', sdp: 'evil' });
    expect(await refused).toMatchObject({ code: SigCode.NotMember });

    // Leaving tears the session down and frees the worker.
    const closed = next(cloud, 'session-closed');
    edge.leave(session);
    expect(await closed).toMatchObject({ session, reason: 'edge left' });
    const again = await edge.openSession();
    expect(again).not.toBe(session);
  });

  it('assigns a free worker, never a busy one, and says so when none is free', async () => {
    const busy = await join('cloud', 'busy');
    busy.registerWorker();
    busy.setAvailable(false);
    const free = await join('cloud', 'free');
    free.registerWorker();
    await new Promise((r) => setTimeout(r, 50));
    const got = next(free, 'session');
    const edge = await join('edge', 'e');
    await edge.openSession();
    await got;
    // sessionsPerWorker = 1: the free worker is now full, the busy one stays busy.
    await expect((await join('edge', 'e2')).openSession()).rejects.toMatchObject({ code: SigCode.NoWorker });
  });

  it('detects a vanished worker within 2 s and tells the edge', async () => {
    const cloud = await join('cloud', 'w');
    cloud.registerWorker();
    const edge = await join('edge', 'e');
    await new Promise((r) => setTimeout(r, 50));
    const session = await edge.openSession();
    const t0 = Date.now();
    const closed = next(edge, 'session-closed', 4000);
    // Kill the socket without a close handshake, as a crashed process or a pulled cable would.
    ((cloud as unknown as { ws: WebSocket }).ws as WebSocket).terminate();
    const m = await closed;
    expect(m).toMatchObject({ session });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('refuses bad tokens: missing, forged, expired, replayed, wrong role', async () => {
    const otherSecret = randomBytes(32);
    expect((await raw([JSON.stringify({ type: 'open-session' })])).errors).toEqual([SigCode.AuthRequired]);
    expect((await raw([JSON.stringify({ type: 'hello', token: mintToken(otherSecret, { role: 'edge', sub: 'x' }) })])).errors).toEqual([SigCode.AuthInvalid]);
    const token = server.mintToken('edge', 'x');
    const [body, sig] = token.split('.') as [string, string];
    const forgedBody = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), role: 'cloud' })).toString('base64url');
    expect((await raw([JSON.stringify({ type: 'hello', token: `${forgedBody}.${sig}` })])).errors).toEqual([SigCode.AuthInvalid]);
    expect((await raw([JSON.stringify({ type: 'hello', token: server.mintToken('edge', 'x', -1) })])).errors).toEqual([SigCode.AuthExpired]);
    const once = server.mintToken('edge', 'y');
    expect((await raw([JSON.stringify({ type: 'hello', token: once })], 300)).errors).toEqual([]);
    expect((await raw([JSON.stringify({ type: 'hello', token: once })])).errors).toEqual([SigCode.AuthReplayed]);
    const edgeToken = server.mintToken('edge', 'z');
    const wrong = await raw([JSON.stringify({ type: 'hello', token: edgeToken }), JSON.stringify({ type: 'register' })]);
    expect(wrong.errors).toEqual([SigCode.WrongRole]);
    expect(wrong.code).toBe(4000);
    const cloudToken = server.mintToken('cloud', 'c');
    expect((await raw([JSON.stringify({ type: 'hello', token: cloudToken }), JSON.stringify({ type: 'open-session' })])).errors).toEqual([SigCode.WrongRole]);
  });

  it('closes connections that never authenticate', async () => {
    const r = await raw([], 2000);
    expect(r.errors).toEqual([SigCode.AuthTimeout]);
    expect(r.code).toBe(4000);
  });

  it('enforces message size and rate limits', async () => {
    const token = server.mintToken('edge', 'big');
    const big = await raw([JSON.stringify({ type: 'hello', token }), JSON.stringify({ type: 'signal', session: 'abc', data: { sdp: 'x'.repeat(20_000) } })]);
    expect(big.code).toBe(1009); // ws: message too big
    const flood = Array.from({ length: 400 }, () => JSON.stringify({ type: 'status', available: true }));
    const rate = await raw([JSON.stringify({ type: 'hello', token: server.mintToken('cloud', 'f') }), JSON.stringify({ type: 'register' }), ...flood]);
    expect(rate.errors).toContain(SigCode.RateLimited);
    expect(rate.code).toBe(4000);
  });

  it('answers malformed frames with typed errors', async () => {
    const cases: Array<[string, SigCode]> = [
      ['not json', SigCode.Malformed],
      ['[]', SigCode.Malformed],
      ['{"type": 42}', SigCode.Malformed],
      ['{"type": "teleport"}', SigCode.UnknownType],
      ['{"type": "hello"}', SigCode.Malformed],
      ['{"type": "hello", "token": "a.b", "extra": 1}', SigCode.Malformed],
      ['{"type": "__proto__"}', SigCode.UnknownType],
    ];
    for (const [frame, code] of cases) expect((await raw([frame], 500)).errors, frame).toEqual([code]);
    expect((await raw([Buffer.from([1, 2, 3])], 500)).errors).toEqual([SigCode.Malformed]);
  });

  it('survives a fuzz of hostile frames and still serves a fresh client', async () => {
    const token = server.mintToken('edge', 'fuzz');
    const frames = fc.sample(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.json({ maxDepth: 3 }),
        fc.record({ type: fc.constantFrom('signal', 'leave', 'status', 'open-session', 'register', 'hello'), session: fc.string(), data: fc.anything(), available: fc.anything() }).map((o) => JSON.stringify(o)),
      ),
      { numRuns: 300, seed: 42 },
    );
    for (let i = 0; i < frames.length; i += 50) {
      const r = await raw([JSON.stringify({ type: 'hello', token: server.mintToken('edge', `f${i}`) }), ...frames.slice(i, i + 50)], 300);
      for (const code of r.errors) expect(Object.values(SigCode)).toContain(code);
    }
    expect(token).toBeTruthy();
    const cloud = await join('cloud', 'after-fuzz');
    cloud.registerWorker();
    const edge = await join('edge', 'after-fuzz');
    await new Promise((r) => setTimeout(r, 50));
    expect(await edge.openSession()).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('logs events without secrets or tokens', async () => {
    const lines: string[] = [];
    const s = await createSignalingServer({ log: (e) => lines.push(JSON.stringify(e)) });
    const c = await connectSignaling(s.url, s.mintToken('edge', 'logged'));
    c.close();
    await c.closed;
    await s.close();
    const all = lines.join('\n');
    expect(all).toContain('"event":"authenticated"');
    expect(all).not.toMatch(/token/i);
    expect(await firstValueFrom(c.messages$.pipe(toArray()))).toEqual([]);
  });
});
