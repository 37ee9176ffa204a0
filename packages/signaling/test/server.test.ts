/**
 * The server over real ws on 127.0.0.1 (ephemeral ports): sessions, relaying, every refusal path with
 * its exact error and close code, assignment, loss, limits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectSignaling } from '../src/node.ts';
import { createSignalingServer } from '../src/server.ts';
import { SigCode } from '../src/errors.ts';
import { mintToken } from '../src/tokens.ts';
import type { SignalingClient } from '../src/client.ts';
import type { ServerMessage, SignalData } from '../src/messages.ts';
import { Cleanup, Probe, SECRET, signPayload, sleep, startServer, withTimeout, type TestServer } from './helpers.ts';

const token = (role: 'edge' | 'cloud', sub: string, ttlMs = 30_000) => mintToken(SECRET, { role, sub }, ttlMs);

/** Test fixtures whose servers and sockets are closed by `cl`. */
function kit(cl: Cleanup) {
  const server = async (limits: Parameters<typeof startServer>[0] = {}): Promise<TestServer> => {
    const s = await startServer(limits);
    cl.add(s.server);
    return s;
  };
  const client = async (t: TestServer, role: 'edge' | 'cloud', sub: string): Promise<SignalingClient> =>
    cl.add(await connectSignaling(t.server.url, token(role, sub)));
  const probe = async (t: TestServer, role?: 'edge' | 'cloud', sub?: string, options: WebSocket.ClientOptions = {}): Promise<Probe> =>
    cl.add(role && sub ? await Probe.authed(t.server.url, token(role, sub), options) : await Probe.open(t.server.url, options));
  /** A registered worker probe. */
  const worker = async (t: TestServer, id: string, options: WebSocket.ClientOptions = {}): Promise<Probe> => {
    const w = await probe(t, 'cloud', id, options);
    w.send({ type: 'register-worker' });
    expect(await w.next('registered')).toEqual({ type: 'registered', worker: id, capacity: t.server.limits.maxSessionsPerWorker });
    return w;
  };
  /** An edge probe with an assigned session; returns the worker id it got. */
  const edgeInSession = async (t: TestServer, session: string): Promise<{ edge: Probe; worker: string }> => {
    const edge = await probe(t, 'edge', session);
    edge.send({ type: 'open-session' });
    const a = await edge.next('session-assigned');
    expect(a.session).toBe(session);
    return { edge, worker: a.worker as string };
  };
  return { server, client, probe, worker, edgeInSession };
}

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const { server, client, probe, worker, edgeInSession } = kit(cleanup);

function nextOf<T extends ServerMessage['type']>(c: SignalingClient, type: T, ms = 5000): Promise<Extract<ServerMessage, { type: T }>> {
  return withTimeout(
    new Promise((resolve) => {
      const sub = c.messages$.subscribe((m) => {
        if (m.type === type) {
          sub.unsubscribe();
          resolve(m as Extract<ServerMessage, { type: T }>);
        }
      });
    }),
    ms,
    `${type} message`,
  );
}

describe('happy path', () => {
  it('worker registers, edge opens a session, offer/answer/candidates relayed both ways, leave tells the other side', async () => {
    const t = await server();
    const cloud = await client(t, 'cloud', 'gpu-1');
    expect(await cloud.registerWorker()).toEqual({ worker: 'gpu-1', capacity: 1 });
    expect(cloud.role).toBe('cloud');
    const edge = await client(t, 'edge', 'sess-1');
    expect(edge.limits).toEqual({ maxMessageBytes: 65536, messagesPerSecond: 20, messageBurst: 40, idleTimeoutMs: 60000 });

    const cloudAssigned = nextOf(cloud, 'session-assigned');
    const session = await edge.openSession();
    expect(session).toBe('sess-1');
    expect(await cloudAssigned).toEqual({ type: 'session-assigned', session, worker: 'gpu-1' });

    const toCloud: SignalData[] = [
      { kind: 'sdp', description: { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n' } },
      { kind: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
      { kind: 'candidate', candidate: null },
    ];
    const toEdge: SignalData[] = [
      { kind: 'sdp', description: { type: 'answer', sdp: 'v=0\r\n' } },
      { kind: 'candidate', candidate: { candidate: 'candidate:2 1 udp 2130706431 127.0.0.1 40001 typ host', usernameFragment: 'abcd' } },
      { kind: 'candidate', candidate: null },
    ];
    const gotCloud: SignalData[] = [];
    const gotEdge: SignalData[] = [];
    cloud.messages$.subscribe((m) => m.type === 'signal' && gotCloud.push(m.data));
    edge.messages$.subscribe((m) => m.type === 'signal' && gotEdge.push(m.data));
    for (const d of toCloud) edge.signal(session, d);
    for (const d of toEdge) cloud.signal(session, d);
    const end = Date.now() + 5000;
    while ((gotCloud.length < 3 || gotEdge.length < 3) && Date.now() < end) await sleep(10);
    expect(gotCloud).toEqual(toCloud);
    expect(gotEdge).toEqual(toEdge);
    expect(t.events.filter((e) => e.event === 'signal')).toHaveLength(6);

    const cloudClosed = nextOf(cloud, 'session-closed');
    const edgeClosed = nextOf(edge, 'session-closed');
    edge.leave(session);
    expect(await cloudClosed).toEqual({ type: 'session-closed', session, reason: 'peer-left' });
    expect(await edgeClosed).toEqual({ type: 'session-closed', session, reason: 'left' });
    await t.waitEvent((e) => e.event === 'session-closed' && e.cause === 'edge-left');

    // The worker is available again: the same edge can open again (same session id), and a worker's
    // leave tells the edge.
    expect(t.server.stats()).toMatchObject({ workers: 1, sessions: 0, availableWorkers: 1 });
    expect(await edge.openSession()).toBe('sess-1');
    const edgeClosed2 = nextOf(edge, 'session-closed');
    cloud.leave(session);
    expect(await edgeClosed2).toEqual({ type: 'session-closed', session, reason: 'peer-left' });
    expect(t.server.stats().availableWorkers).toBe(1);
  });

  it('a member closing its connection ends the session: the other gets peer-disconnected', async () => {
    const t = await server();
    const w = await worker(t, 'w1');
    const { edge } = await edgeInSession(t, 's1');
    await w.next('session-assigned');
    edge.ws.close(1000);
    expect(await w.next('session-closed')).toEqual({ type: 'session-closed', session: 's1', reason: 'peer-disconnected' });
    await t.waitEvent((e) => e.event === 'session-closed' && e.cause === 'edge-disconnected');
    expect(t.server.stats()).toMatchObject({ sessions: 0, availableWorkers: 1 });
  });

  it('server close tells members server-shutdown and closes with 1001', async () => {
    const t = await server();
    const w = await worker(t, 'w1');
    const { edge } = await edgeInSession(t, 's1');
    await t.server.close();
    expect(await edge.next('session-closed')).toMatchObject({ reason: 'server-shutdown' });
    expect(await w.next('session-closed')).toMatchObject({ reason: 'server-shutdown' });
    expect((await edge.closed).code).toBe(1001);
    expect((await w.closed).code).toBe(1001);
    await t.server.close(); // idempotent
  });
});

describe('authentication refusals', () => {
  it('a message before hello → SIG_AUTH_REQUIRED, 4401', async () => {
    const t = await server();
    const p = await probe(t);
    p.send({ type: 'open-session' });
    await p.expectError(SigCode.AuthRequired, 'open-session');
    await t.waitEvent((e) => e.event === 'refused' && e.code === SigCode.AuthRequired && e.role === null);
  });

  it('hello without a token → SIG_MISSING_FIELD, 4400; empty token → SIG_AUTH_MALFORMED, 4401', async () => {
    const t = await server();
    const a = await probe(t);
    a.send({ type: 'hello' });
    await a.expectError(SigCode.MissingField);
    const b = await probe(t);
    b.send({ type: 'hello', token: '' });
    await b.expectError(SigCode.AuthMalformed, 'hello');
  });

  it('forged (another secret) or modified token → SIG_AUTH_INVALID, 4401', async () => {
    const t = await server();
    const a = await probe(t);
    a.send({ type: 'hello', token: mintToken(new Uint8Array(32).fill(9), { role: 'cloud', sub: 'w1' }) });
    await a.expectError(SigCode.AuthInvalid, 'hello');

    const [part, sig] = token('edge', 'e1').split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;
    const asCloud = Buffer.from(JSON.stringify({ ...claims, role: 'cloud' })).toString('base64url');
    const b = await probe(t);
    b.send({ type: 'hello', token: `${asCloud}.${sig}` });
    await b.expectError(SigCode.AuthInvalid, 'hello');
  });

  it('validly signed but malformed claims → SIG_AUTH_MALFORMED', async () => {
    const t = await server();
    const p = await probe(t);
    p.send({ type: 'hello', token: signPayload(SECRET, JSON.stringify({ role: 'root', sub: 'x', exp: Date.now() + 1000, jti: 'A'.repeat(22) })) });
    await p.expectError(SigCode.AuthMalformed, 'hello');
  });

  it('expired → SIG_AUTH_EXPIRED; too long-lived → SIG_AUTH_TTL', async () => {
    const t = await server({ maxTokenTtlMs: 60_000 });
    const a = await probe(t);
    a.send({ type: 'hello', token: mintToken(SECRET, { role: 'edge', sub: 'e' }, 1000, { now: Date.now() - 5000 }) });
    await a.expectError(SigCode.AuthExpired, 'hello');
    const b = await probe(t);
    b.send({ type: 'hello', token: token('edge', 'e', 3_600_000) });
    await b.expectError(SigCode.AuthTtl, 'hello');
  });

  it('a replayed token → SIG_AUTH_REPLAYED, while the first connection lives and after it closed', async () => {
    const t = await server();
    const tok = token('cloud', 'w1');
    const first = cleanup.add(await Probe.authed(t.server.url, tok));
    const second = await probe(t);
    second.send({ type: 'hello', token: tok });
    await second.expectError(SigCode.AuthReplayed, 'hello');
    first.ws.close();
    await first.closed;
    const third = await probe(t);
    third.send({ type: 'hello', token: tok });
    await third.expectError(SigCode.AuthReplayed, 'hello');
  });

  it('no hello within authTimeoutMs → SIG_AUTH_TIMEOUT, 4408', async () => {
    const t = await server({ authTimeoutMs: 200 });
    const p = await probe(t);
    await p.expectError(SigCode.AuthTimeout);
  });

  it('a second hello is refused (SIG_BAD_STATE) and changes nothing', async () => {
    const t = await server();
    const p = await probe(t, 'edge', 'e1');
    p.send({ type: 'hello', token: token('cloud', 'w9') });
    await p.expectError(SigCode.BadState, 'hello');
    p.send({ type: 'register-worker' });
    await p.expectError(SigCode.WrongRole, 'register-worker');
  });
});

describe('role and membership refusals', () => {
  it('edge registering as worker → SIG_WRONG_ROLE, 4403', async () => {
    const t = await server();
    const p = await probe(t, 'edge', 'e1');
    p.send({ type: 'register-worker' });
    await p.expectError(SigCode.WrongRole, 'register-worker');
    expect(t.server.stats().workers).toBe(0);
  });

  it('edge reporting worker status → SIG_WRONG_ROLE', async () => {
    const t = await server();
    const p = await probe(t, 'edge', 'e1');
    p.send({ type: 'worker-status', status: 'available' });
    await p.expectError(SigCode.WrongRole, 'worker-status');
  });

  it('cloud opening a session → SIG_WRONG_ROLE, 4403', async () => {
    const t = await server();
    await worker(t, 'w1');
    const p = await probe(t, 'cloud', 'w2');
    p.send({ type: 'open-session' });
    await p.expectError(SigCode.WrongRole, 'open-session');
    expect(t.server.stats().sessions).toBe(0);
  });

  it('a third party cannot signal into or leave a session it is not in (SIG_NOT_MEMBER); members see nothing', async () => {
    const t = await server();
    const w1 = await worker(t, 'w1');
    const w2 = await worker(t, 'w2');
    const { edge, worker: got } = await edgeInSession(t, 's1');
    const member = got === 'w1' ? w1 : w2;
    const other = got === 'w1' ? w2 : w1;
    await member.next('session-assigned');
    const intruder = await probe(t, 'edge', 'mallory');
    const offer = { kind: 'sdp', description: { type: 'offer', sdp: 'v=0' } };

    intruder.send({ type: 'signal', session: 's1', data: offer });
    await intruder.expectError(SigCode.NotMember, 'signal');
    intruder.send({ type: 'leave', session: 's1' });
    await intruder.expectError(SigCode.NotMember, 'leave');
    other.send({ type: 'signal', session: 's1', data: offer });
    await other.expectError(SigCode.NotMember, 'signal');
    intruder.send({ type: 'signal', session: 'no-such-session', data: offer });
    await intruder.expectError(SigCode.NotMember, 'signal');

    // The session is intact and nothing reached its members.
    await edge.roundTrip();
    await member.roundTrip();
    expect(edge.inbox).toEqual([]);
    expect(member.inbox).toEqual([]);
    expect(t.server.stats().sessions).toBe(1);
    // The refusals did not close anyone.
    await intruder.roundTrip();
    await other.roundTrip();
  });

  it('a session id is the edge token sub: a second edge with the same sub → SIG_SESSION_EXISTS; a second open on one connection too', async () => {
    const t = await server({ maxSessionsPerWorker: 2 });
    await worker(t, 'w1');
    const { edge } = await edgeInSession(t, 's1');
    const twin = await probe(t, 'edge', 's1');
    twin.send({ type: 'open-session' });
    await twin.expectError(SigCode.SessionExists, 'open-session');
    edge.send({ type: 'open-session' });
    await edge.expectError(SigCode.SessionExists, 'open-session');
  });

  it('worker-status before register and registering twice → SIG_BAD_STATE; the same worker id twice → SIG_DUPLICATE_WORKER', async () => {
    const t = await server();
    const p = await probe(t, 'cloud', 'w1');
    p.send({ type: 'worker-status', status: 'busy' });
    await p.expectError(SigCode.BadState, 'worker-status');
    p.send({ type: 'register-worker' });
    await p.next('registered');
    p.send({ type: 'register-worker' });
    await p.expectError(SigCode.BadState, 'register-worker');
    const twin = await probe(t, 'cloud', 'w1');
    twin.send({ type: 'register-worker' });
    await twin.expectError(SigCode.DuplicateWorker, 'register-worker');
  });
});

describe('assignment', () => {
  it('two workers, one busy: the edge gets the free one; then none is free → SIG_NO_WORKER; busy → available makes it assignable', async () => {
    const t = await server();
    const busy = await worker(t, 'w-busy');
    await worker(t, 'w-free');
    busy.send({ type: 'worker-status', status: 'busy' });
    await t.waitEvent((e) => e.event === 'worker-status' && e.status === 'busy');
    for (let i = 0; i < 3; i++) {
      // whatever the order of registration or assignment history, the busy worker is never picked
      const { edge, worker: got } = await edgeInSession(t, `s${i}`);
      expect(got).toBe('w-free');
      edge.send({ type: 'leave', session: `s${i}` });
      await edge.next('session-closed');
    }
    await edgeInSession(t, 's-a');
    const late = await probe(t, 'edge', 's-b');
    late.send({ type: 'open-session' });
    const err = await late.expectError(SigCode.NoWorker, 'open-session');
    expect(err.message).toMatch(/2 registered/);

    busy.send({ type: 'worker-status', status: 'available' });
    await t.waitEvent((e) => e.event === 'worker-status' && e.status === 'available');
    late.send({ type: 'open-session' });
    expect(await late.next('session-assigned')).toEqual({ type: 'session-assigned', session: 's-b', worker: 'w-busy' });
  });

  it('no worker at all → SIG_NO_WORKER, and the edge may retry on the same connection', async () => {
    const t = await server();
    const edge = cleanup.add(await connectSignaling(t.server.url, token('edge', 's1')));
    await expect(edge.openSession()).rejects.toMatchObject({ code: SigCode.NoWorker });
    await worker(t, 'w1');
    expect(await edge.openSession()).toBe('s1');
  });

  it('maxSessionsPerWorker: a worker at capacity is not assigned; spreads over workers', async () => {
    const t = await server({ maxSessionsPerWorker: 2 });
    await worker(t, 'w1');
    await worker(t, 'w2');
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push((await edgeInSession(t, `s${i}`)).worker);
    expect(got.sort()).toEqual(['w1', 'w1', 'w2', 'w2']);
    const fifth = await probe(t, 'edge', 's5');
    fifth.send({ type: 'open-session' });
    await fifth.expectError(SigCode.NoWorker, 'open-session');
  });

  it('a vanished worker is never assigned', async () => {
    const t = await server();
    const w = await worker(t, 'w1');
    w.ws.terminate();
    await t.waitEvent((e) => e.event === 'disconnected' && e.id === 'w1');
    const edge = await probe(t, 'edge', 's1');
    edge.send({ type: 'open-session' });
    await edge.expectError(SigCode.NoWorker, 'open-session');
  });
});

describe('loss', () => {
  it('a worker whose socket is destroyed without a close frame: the edge gets peer-lost', async () => {
    const t = await server();
    const w = await worker(t, 'w1');
    const { edge } = await edgeInSession(t, 's1');
    await w.next('session-assigned');
    const t0 = Date.now();
    (w.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
    expect(await edge.next('session-closed', 5000)).toEqual({ type: 'session-closed', session: 's1', reason: 'peer-lost' });
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(t.server.stats()).toMatchObject({ workers: 0, sessions: 0 });
  });

  it('an edge that vanishes frees its worker for the next edge', async () => {
    const t = await server();
    const w = await worker(t, 'w1');
    const { edge } = await edgeInSession(t, 's1');
    await w.next('session-assigned');
    (edge.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
    expect(await w.next('session-closed')).toEqual({ type: 'session-closed', session: 's1', reason: 'peer-lost' });
    expect((await edgeInSession(t, 's2')).worker).toBe('w1');
  });

});

describe('limits', () => {
  it('rate: the burst passes, the next message → SIG_RATE_LIMITED, 4429', async () => {
    const t = await server({ messagesPerSecond: 2, messageBurst: 10 });
    const p = await probe(t, 'edge', 'e1'); // hello spent one token
    for (let i = 0; i < 20; i++) p.send({ type: 'ping' });
    const pongs: unknown[] = [];
    for (let i = 0; i < 9; i++) pongs.push(await p.next('pong'));
    expect(pongs).toHaveLength(9);
    await p.expectError(SigCode.RateLimited);
    expect(p.inbox.filter((m) => m.type === 'pong')).toEqual([]);
  });

  it('rate: ws-level pings count too, and are answered while under the limit', async () => {
    const t = await server({ messagesPerSecond: 2, messageBurst: 5 });
    const p = await probe(t, 'edge', 'e1');
    let pongs = 0;
    p.ws.on('pong', () => pongs++);
    for (let i = 0; i < 10; i++) p.ws.ping();
    await p.expectError(SigCode.RateLimited);
    expect(pongs).toBe(4); // burst 5, hello spent one
  });

  it('a message over maxMessageBytes is refused by ws from the frame header: close 1009, SIG_TOO_LARGE', async () => {
    const t = await server({ maxMessageBytes: 4096 });
    const p = await probe(t, 'edge', 'e1');
    p.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(5000) }));
    const c = await withTimeout(p.closed, 5000, 'close');
    expect(c.code).toBe(1009);
    await t.waitEvent((e) => e.event === 'refused' && e.code === SigCode.TooLarge && e.close === 1009);
  });

  it('a message of exactly maxMessageBytes is accepted and relayed', async () => {
    const t = await server({ maxMessageBytes: 4096 });
    const w = await worker(t, 'w1');
    const { edge } = await edgeInSession(t, 's1');
    await w.next('session-assigned');
    const frame = (sdp: string) => JSON.stringify({ type: 'signal', session: 's1', data: { kind: 'sdp', description: { type: 'offer', sdp } } });
    const sdp = 'v'.repeat(4096 - frame('').length);
    expect(Buffer.byteLength(frame(sdp))).toBe(4096);
    edge.send(frame(sdp));
    const got = await w.next('signal');
    expect((got.data as { description: { sdp: string } }).description.sdp).toBe(sdp);
  });

  it('the client maps the 1009 close to SIG_TOO_LARGE', async () => {
    const t = await server({ maxMessageBytes: 4096 });
    const c = await client(t, 'edge', 's1');
    c.signal('s1', { kind: 'sdp', description: { type: 'offer', sdp: 'x'.repeat(5000) } });
    const closed = await withTimeout(c.closed, 5000, 'client closed');
    expect(closed.code).toBe(1009);
    expect(closed.error?.code).toBe(SigCode.TooLarge);
  });

  it('maxConnections → SIG_SERVER_FULL, 1013', async () => {
    const t = await server({ maxConnections: 2 });
    await probe(t);
    await probe(t);
    const third = await probe(t);
    await third.expectError(SigCode.ServerFull);
  });
});

describe('bad frames', () => {
  it('not JSON → SIG_INVALID_JSON, 4400; binary → SIG_BINARY_FRAME, 4400', async () => {
    const t = await server();
    const a = await probe(t, 'edge', 'e1');
    a.send('{"type": "ping"');
    await a.expectError(SigCode.InvalidJson);
    const b = await probe(t);
    b.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    await b.expectError(SigCode.BinaryFrame);
  });

  it('invalid UTF-8 in a text frame → ws closes 1007 (SIG_INVALID_UTF8)', async () => {
    const t = await server();
    const p = await probe(t);
    p.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await withTimeout(p.closed, 5000, 'close')).code).toBe(1007);
    await t.waitEvent((e) => e.event === 'refused' && e.code === SigCode.InvalidUtf8);
  });

  it('a fatal error in a session ends it for the other member (peer-disconnected)', async () => {
    const t = await server();
    const w = await worker(t, 'w1');
    const { edge } = await edgeInSession(t, 's1');
    await w.next('session-assigned');
    edge.send({ type: 'signal', session: 's1', data: { kind: 'sdp' }, extra: true });
    await edge.expectError(SigCode.UnknownField);
    expect(await w.next('session-closed')).toEqual({ type: 'session-closed', session: 's1', reason: 'peer-disconnected' });
  });
});

describe('server lifecycle', () => {
  it('refuses bad options and a port in use; a throwing onEvent hook does not hurt', async () => {
    await expect(createSignalingServer({ port: 70_000 })).rejects.toThrow(RangeError);
    await expect(createSignalingServer({ secret: 'short' })).rejects.toThrow(RangeError);
    await expect(createSignalingServer({ limits: { maxSessionsPerWorker: 0 } })).rejects.toThrow(RangeError);
    const a = cleanup.add(await createSignalingServer({ onEvent: () => { throw new Error('hook'); } }));
    expect(a.secretSource).toBe('generated');
    expect(a.url).toBe(`ws://127.0.0.1:${a.address.port}`);
    await expect(createSignalingServer({ port: a.address.port })).rejects.toThrow(/EADDRINUSE/);
    const c = cleanup.add(await connectSignaling(a.url, a.mintToken('cloud', 'w1')));
    expect(await c.registerWorker()).toEqual({ worker: 'w1', capacity: 1 });
  });
});

/**
 * The tests that mostly wait on timers run concurrently (each with its own server and cleanup), so
 * the suite stays short; their timing assertions keep wide margins.
 */
describe.concurrent('timers', () => {
  const local = (onTestFinished: (fn: () => Promise<void>) => void) => {
    const cl = new Cleanup();
    onTestFinished(() => cl.run());
    return kit(cl);
  };

  it('a worker that stopped answering heartbeats is picked last, even before it is dropped', async ({ onTestFinished }) => {
    const { server, worker, edgeInSession } = local(onTestFinished);
    // suspect after (50 + 1000) / 2 = 525 ms of silence; dropped after 1000 ms
    const t = await server({ maxSessionsPerWorker: 2, heartbeatIntervalMs: 50, heartbeatTimeoutMs: 1000 });
    await worker(t, 'w-silent', { autoPong: false }); // registered first: it would win a tie
    await worker(t, 'w-alive');
    await sleep(700);
    expect((await edgeInSession(t, 's0')).worker).toBe('w-alive');
    expect((await edgeInSession(t, 's1')).worker).toBe('w-alive'); // preferred although more loaded
  });

  it('a worker that stops answering pings is dropped by the heartbeat within ~2 s (default limits)', async ({ onTestFinished }) => {
    const { server, worker, edgeInSession } = local(onTestFinished);
    const t = await server();
    // autoPong off: the socket stays open but never answers, like a frozen or unplugged peer.
    const w = await worker(t, 'w-silent', { autoPong: false });
    const { edge } = await edgeInSession(t, 's1');
    const t0 = Date.now();
    const closed = await edge.next('session-closed', 6000);
    const ms = Date.now() - t0;
    expect(closed).toEqual({ type: 'session-closed', session: 's1', reason: 'peer-lost' });
    // Bound: heartbeatTimeoutMs + heartbeatIntervalMs = 1.5 s after the worker's last sign of life
    // (its register-worker, before t0); the rest is margin for a loaded machine.
    expect(ms).toBeLessThan(2500);
    const hb = await t.waitEvent((e) => e.event === 'heartbeat-timeout');
    expect(hb).toMatchObject({ role: 'cloud', id: 'w-silent' });
    await t.waitEvent((e) => e.event === 'session-closed' && e.cause === 'worker-lost');
    expect((await withTimeout(w.closed, 5000, 'silent worker closed')).code).toBe(1006);
  });

  it('a healthy idle connection survives the heartbeat (pongs count as life)', async ({ onTestFinished }) => {
    const { server, worker } = local(onTestFinished);
    const t = await server({ heartbeatIntervalMs: 50, heartbeatTimeoutMs: 300 });
    const w = await worker(t, 'w1');
    await sleep(500);
    await w.roundTrip();
    expect(t.events.some((e) => e.event === 'heartbeat-timeout')).toBe(false);
  });

  it('rate: the bucket refills', async ({ onTestFinished }) => {
    const { server, probe } = local(onTestFinished);
    const t = await server({ messagesPerSecond: 20, messageBurst: 5 });
    const p = await probe(t, 'edge', 'e1');
    for (let i = 0; i < 4; i++) await p.roundTrip();
    await sleep(300); // ≥ 6 tokens back (capped at 5)
    for (let i = 0; i < 5; i++) p.send({ type: 'ping' });
    for (let i = 0; i < 5; i++) await p.next('pong');
    expect(p.isOpen).toBe(true);
  });

  it('idle: an authenticated connection that sends nothing → SIG_IDLE_TIMEOUT, 4408; the client keepalive prevents it', async ({ onTestFinished }) => {
    const { server, client, probe } = local(onTestFinished);
    const t = await server({ idleTimeoutMs: 240, heartbeatIntervalMs: 50, heartbeatTimeoutMs: 1000 });
    const quiet = await probe(t, 'edge', 'e1');
    const kept = await client(t, 'edge', 'e2'); // pings every 80 ms
    await quiet.expectError(SigCode.IdleTimeout);
    await sleep(300);
    expect(t.events.some((e) => e.event === 'refused' && e.id === 'e2')).toBe(false);
    await expect(kept.openSession()).rejects.toMatchObject({ code: SigCode.NoWorker });
  });
});
