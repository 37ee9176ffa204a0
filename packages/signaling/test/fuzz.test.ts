/**
 * Hostile input into one server: hundreds of random and mutated frames (fast-check), then raw
 * WebSocket framing attacks over a bare TCP socket. Every frame must be answered with a valid
 * server message (typed error) and/or a close with the documented code; the server must never crash
 * or report an internal error, and must still serve a fresh client afterwards.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODE_OF, SigCode, SERVER_SENT_CODES } from '../src/errors.ts';
import { CLIENT_MESSAGE_TYPES, parseServerMessage } from '../src/messages.ts';
import { connectSignaling } from '../src/node.ts';
import { mintToken } from '../src/tokens.ts';
import { Probe, SECRET, startServer, withTimeout, type TestServer } from './helpers.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startServer({ maxMessageBytes: 8192 });
});
afterAll(() => t.server.close());

/** Close codes a hostile frame may end in: the fatal table, plus ws's own framing closes. */
const FATAL_CLOSES = new Set([...Object.values(CLOSE_CODE_OF).filter((c): c is number => c !== null), 1009, 1007, 1002]);

const VALID: Array<Record<string, unknown>> = [
  { type: 'hello', token: 'x.y' },
  { type: 'register-worker' },
  { type: 'worker-status', status: 'busy' },
  { type: 'open-session' },
  { type: 'signal', session: 's1', data: { kind: 'sdp', description: { type: 'offer', sdp: 'v=0' } } },
  { type: 'signal', session: 's1', data: { kind: 'candidate', candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 } } },
  { type: 'signal', session: 's1', data: { kind: 'candidate', candidate: null } },
  { type: 'leave', session: 's1' },
  { type: 'ping' },
];

const key = fc.oneof(fc.constantFrom('type', 'token', 'session', 'data', 'kind', 'status', '__proto__', 'constructor', 'x'), fc.string({ maxLength: 8 }));

/** A valid message with one structural mutation somewhere in it. */
const mutated = fc
  .tuple(fc.constantFrom(...VALID), fc.nat(), key, fc.jsonValue({ maxDepth: 3 }), fc.nat(3))
  .map(([m, pick, k, v, op]) => {
    const copy = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
    // Collect the objects inside, to mutate one of them.
    const objects: Array<Record<string, unknown>> = [];
    const walk = (o: unknown) => {
      if (o && typeof o === 'object' && !Array.isArray(o)) {
        objects.push(o as Record<string, unknown>);
        for (const x of Object.values(o)) walk(x);
      }
    };
    walk(copy);
    const target = objects[pick % objects.length] as Record<string, unknown>;
    const keys = Object.keys(target);
    const existing = keys[pick % Math.max(1, keys.length)];
    if (op === 0 && existing !== undefined) delete target[existing];
    else if (op === 1 && existing !== undefined) target[existing] = v;
    else if (op === 2) Object.defineProperty(target, k, { value: v, enumerable: true, configurable: true, writable: true });
    else target.type = typeof v === 'string' ? v : k;
    return JSON.stringify(copy);
  });

const typed = fc
  .tuple(fc.constantFrom(...CLIENT_MESSAGE_TYPES, 'welcome', 'error', 'nope'), fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }))
  .map(([type, rest]) => JSON.stringify({ type, ...rest }));

type Frame = { text: string } | { binary: Uint8Array };

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.string({ maxLength: 300, unit: 'binary' }).map((text) => ({ text })),
  fc.json({ maxDepth: 4 }).map((text) => ({ text })),
  mutated.map((text) => ({ text })),
  typed.map((text) => ({ text })),
  fc.nat({ max: 6_000 }).map((n) => ({ text: `${'['.repeat(n)}${']'.repeat(n)}` })),
  fc.nat({ max: 12_000 }).map((n) => ({ text: JSON.stringify({ type: 'ping', pad: 'x'.repeat(n) }) })),
  fc.uint8Array({ maxLength: 200 }).map((binary) => ({ binary })),
);

/** What the server sent on one connection: each frame valid, fatal errors followed by their close code. */
function checkReplies(p: Probe, close: { code: number } | null): void {
  let fatal: string | null = null;
  for (const f of p.inbox) {
    const m = parseServerMessage(JSON.stringify(f)); // throws on anything invalid
    if (m.type === 'error') {
      expect(SERVER_SENT_CODES.has(m.code)).toBe(true);
      expect(m.code).not.toBe(SigCode.Internal);
      if (CLOSE_CODE_OF[m.code] !== null) fatal = m.code;
    }
  }
  if (fatal !== null) {
    expect(close).not.toBeNull();
    expect(close?.code).toBe(CLOSE_CODE_OF[fatal as SigCode]);
  }
  if (close !== null) expect(FATAL_CLOSES.has(close.code), `close ${close.code}`).toBe(true);
}

let sub = 0;

describe('fuzzed frames into one server', () => {
  it('answers a few hundred random frames with typed errors or closes, never crashing', async () => {
    await fc.assert(
      fc.asyncProperty(frameArb, fc.constantFrom('anonymous', 'edge', 'cloud'), async (frame, who) => {
        const p =
          who === 'anonymous'
            ? await Probe.open(t.server.url)
            : await Probe.authed(t.server.url, mintToken(SECRET, { role: who, sub: `f${sub++}` }));
        try {
          if ('binary' in frame) p.ws.send(frame.binary, { binary: true });
          else p.send(frame.text);
          let close: { code: number } | null = null;
          if (who === 'anonymous') {
            // Nothing random authenticates: the connection must end.
            close = await withTimeout(p.closed, 5000, 'anonymous close');
          } else {
            p.send({ type: 'ping' });
            close = await withTimeout(
              Promise.race([p.closed, p.next('pong', 5000).then(() => null)]),
              6000,
              'pong or close',
            ).catch(() => p.closed);
          }
          checkReplies(p, close);
        } finally {
          p.close();
        }
      }),
      { numRuns: 300 },
    );
    expect(t.events.filter((e) => e.event === 'server-error')).toEqual([]);
    // The frames reached many distinct refusal paths, not one parser error over and over.
    const codes = new Set(t.events.flatMap((e) => (e.event === 'refused' ? [e.code] : [])));
    console.log(`fuzz: ${codes.size} distinct refusal codes: ${[...codes].sort().join(' ')}`);
    expect(codes.size).toBeGreaterThanOrEqual(8);
  }, 30_000);
});

// --- raw WebSocket framing over TCP --------------------------------------------------------------

async function handshake(port: number): Promise<{ sock: Socket; data: () => Buffer; ended: Promise<void> }> {
  const sock = connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
  });
  sock.on('error', () => undefined);
  const ended = new Promise<void>((r) => sock.once('close', () => r()));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const end = Date.now() + 5000;
  while (!buf.includes('\r\n\r\n')) {
    if (Date.now() > end) throw new Error('no handshake reply');
    await new Promise((r) => setTimeout(r, 5));
  }
  const head = buf.subarray(0, buf.indexOf('\r\n\r\n') + 4);
  expect(head.toString()).toMatch(/^HTTP\/1\.1 101 /);
  const rest = () => buf.subarray(head.length);
  return { sock, data: rest, ended };
}

/** A masked client frame. */
function frame(opcode: number, payload: Uint8Array, opts: { fin?: boolean; rsv1?: boolean; mask?: boolean } = {}): Buffer {
  const { fin = true, rsv1 = false, mask = true } = opts;
  const b0 = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const len = payload.length;
  const header = len < 126 ? Buffer.from([b0, (mask ? 0x80 : 0) | len]) : Buffer.from([b0, (mask ? 0x80 : 0) | 126, len >> 8, len & 0xff]);
  if (!mask) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((x, i) => x ^ (key[i % 4] as number)));
  return Buffer.concat([header, key, body]);
}

/** The close code in the first close frame the server sent (server frames are unmasked). */
async function serverClose(conn: { data: () => Buffer; ended: Promise<void> }): Promise<number> {
  await withTimeout(conn.ended, 5000, 'socket end');
  const d = conn.data();
  let i = 0;
  while (i + 2 <= d.length) {
    const op = (d[i] as number) & 0x0f;
    let len = (d[i + 1] as number) & 0x7f;
    let off = i + 2;
    if (len === 126) {
      len = d.readUInt16BE(off);
      off += 2;
    }
    if (op === 0x8) return d.readUInt16BE(off);
    i = off + len;
  }
  return -1;
}

describe('raw framing attacks', () => {
  const text = (s: string) => new TextEncoder().encode(s);

  it('a 2^62-byte length header is refused from the header alone: 1009', async () => {
    const c = await handshake(t.server.address.port);
    const header = Buffer.from([0x81, 0x80 | 127, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    c.sock.write(header);
    expect(await serverClose(c)).toBe(1009);
  });

  it('framing violations close with 1002: unmasked, reserved opcode, RSV1 without extension, fragmented ping', async () => {
    const cases = [
      frame(0x1, text('{"type":"ping"}'), { mask: false }),
      frame(0x3, text('x')),
      frame(0x1, text('{"type":"ping"}'), { rsv1: true }),
      frame(0x9, text('p'), { fin: false }),
    ];
    for (const bytes of cases) {
      const c = await handshake(t.server.address.port);
      c.sock.write(bytes);
      expect(await serverClose(c)).toBe(1002);
    }
  });

  it('a valid hello split byte by byte across ticks is still understood', async () => {
    const c = await handshake(t.server.address.port);
    const hello = frame(0x1, text(JSON.stringify({ type: 'hello', token: mintToken(SECRET, { role: 'edge', sub: 'split' }) })));
    for (const byte of hello) {
      c.sock.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    const end = Date.now() + 5000;
    while (!c.data().includes('"welcome"') && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(c.data().toString()).toContain('"type":"welcome"');
    c.sock.destroy();
  });

  it('random bytes after the handshake never crash the server', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), async (bytes) => {
        const c = await handshake(t.server.address.port);
        c.sock.write(bytes);
        await new Promise((r) => setTimeout(r, 2));
        c.sock.destroy();
        await c.ended;
      }),
      { numRuns: 60 },
    );
  });

  it('afterwards the server still serves a fresh session end to end', async () => {
    const cloud = await connectSignaling(t.server.url, t.server.mintToken('cloud', 'after-fuzz'));
    await cloud.registerWorker();
    const edge = await connectSignaling(t.server.url, t.server.mintToken('edge', 'after-fuzz-s'));
    expect(await edge.openSession()).toBe('after-fuzz-s');
    edge.close();
    cloud.close();
    expect(t.events.filter((e) => e.event === 'server-error')).toEqual([]);
    // Every fuzz connection was released.
    const end = Date.now() + 5000;
    while (t.server.stats().connections > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(t.server.stats()).toMatchObject({ connections: 0, sessions: 0 });
  });
});
