/**
 * SignalingClient: refusals surface as SignalingError with the server's code; it also trusts
 * nothing from the server (hostile fake servers), and times out instead of hanging.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { SignalingClient, type WebSocketLike } from '../src/client.ts';
import { SignalingError, SigCode } from '../src/errors.ts';
import { connectSignaling } from '../src/node.ts';
import { mintToken } from '../src/tokens.ts';
import { Cleanup, SECRET, startServer, withTimeout } from './helpers.ts';
import WebSocket from 'ws';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const WELCOME = { type: 'welcome', role: 'edge', id: 's1', limits: { maxMessageBytes: 65536, messagesPerSecond: 20, messageBurst: 40, idleTimeoutMs: 60000 } };

/** A fake server: `onConnection` scripts what it does with each socket. */
async function fakeServer(onConnection: (ws: ServerSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', onConnection);
  cleanup.add({ close: () => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => r());
  }) });
  const addr = wss.address() as { port: number };
  return `ws://127.0.0.1:${addr.port}`;
}

async function rejection(p: Promise<unknown>): Promise<SignalingError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SignalingError);
  return err as SignalingError;
}

describe('SignalingClient against the real server', () => {
  it('connect rejects with the server code (forged token → SIG_AUTH_INVALID)', async () => {
    const t = await startServer();
    cleanup.add(t.server);
    const err = await rejection(connectSignaling(t.server.url, mintToken(new Uint8Array(32).fill(1), { role: 'edge', sub: 's1' })));
    expect(err.code).toBe(SigCode.AuthInvalid);
    expect(err.closeCode).toBe(4401);
  });

  it('a fatal refusal rejects the pending request and sets closed.error', async () => {
    const t = await startServer();
    cleanup.add(t.server);
    const cloud = cleanup.add(await connectSignaling(t.server.url, mintToken(SECRET, { role: 'cloud', sub: 'w1' })));
    const errors: string[] = [];
    cloud.errors$.subscribe((e) => errors.push(e.code));
    expect((await rejection(cloud.openSession())).code).toBe(SigCode.WrongRole);
    const closed = await cloud.closed;
    expect(closed).toMatchObject({ code: 4403, reason: SigCode.WrongRole });
    expect(closed.error?.code).toBe(SigCode.WrongRole);
    expect(errors).toEqual([SigCode.WrongRole]);
    expect((await rejection(cloud.registerWorker())).code).toBe(SigCode.WrongRole);
  });

  it('works with any WebSocket of the browser shape (the factory is injected)', async () => {
    const t = await startServer();
    cleanup.add(t.server);
    let made = 0;
    const c = cleanup.add(
      await SignalingClient.connect(t.server.url, t.server.mintToken('edge', 's1'), {
        webSocket: (u) => {
          made++;
          return new WebSocket(u) as unknown as WebSocketLike;
        },
      }),
    );
    expect(made).toBe(1);
    expect(c.id).toBe('s1');
  });
});

describe('SignalingClient against hostile or broken servers', () => {
  it('nothing listening → SIG_CONNECT_FAILED', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    expect((await rejection(connectSignaling(`ws://127.0.0.1:${port}`, 'a.b'))).code).toBe(SigCode.ConnectFailed);
  });

  it('no welcome → SIG_TIMEOUT after connectTimeoutMs', async () => {
    const url = await fakeServer(() => undefined);
    expect((await rejection(connectSignaling(url, 'a.b', { connectTimeoutMs: 200 }))).code).toBe(SigCode.Timeout);
  });

  it('no reply to open-session → SIG_TIMEOUT after requestTimeoutMs', async () => {
    const url = await fakeServer((ws) => ws.on('message', () => ws.send(JSON.stringify(WELCOME))));
    const c = cleanup.add(await connectSignaling(url, 'a.b', { requestTimeoutMs: 200 }));
    expect((await rejection(c.openSession())).code).toBe(SigCode.Timeout);
  });

  it('the server closing while a request is pending → SIG_CLOSED', async () => {
    const url = await fakeServer((ws) =>
      ws.on('message', (d) => {
        if (String(d).includes('hello')) ws.send(JSON.stringify(WELCOME));
        else ws.close(1000, 'bye');
      }),
    );
    const c = cleanup.add(await connectSignaling(url, 'a.b'));
    expect((await rejection(c.openSession())).code).toBe(SigCode.Closed);
    expect((await c.closed).error).toBeNull();
  });

  const hostile: Array<[string, unknown, SigCode]> = [
    ['an extra field', { type: 'pong', x: 1 }, SigCode.UnknownField],
    ['a client-only type', { type: 'hello', token: 't' }, SigCode.UnknownType],
    ['a made-up error code', { type: 'error', code: 'SIG_PWNED', message: '', re: null }, SigCode.InvalidField],
    ['a prototype key', JSON.parse('{"type":"pong","__proto__":{"polluted":1}}'), SigCode.ForbiddenKey],
    ['not JSON', 'nope', SigCode.InvalidJson],
  ];
  for (const [what, frame, code] of hostile) {
    it(`a server sending ${what} after welcome: the client closes with 4400 (${code})`, async () => {
      const url = await fakeServer((ws) =>
        ws.on('message', () => {
          ws.send(JSON.stringify(WELCOME));
          ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
        }),
      );
      const c = cleanup.add(await connectSignaling(url, 'a.b'));
      const closed = await withTimeout(c.closed, 5000, 'client close');
      expect(closed.error?.code).toBe(code);
      expect(closed.code).toBe(4400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  it('a server sending a binary frame or a session before welcome: connect rejects', async () => {
    const url1 = await fakeServer((ws) => ws.on('message', () => ws.send(Buffer.from([1, 2, 3]))));
    expect((await rejection(connectSignaling(url1, 'a.b'))).code).toBe(SigCode.BinaryFrame);
    const url2 = await fakeServer((ws) => ws.on('message', () => ws.send(JSON.stringify({ type: 'session-assigned', session: 's', worker: 'w' }))));
    expect((await rejection(connectSignaling(url2, 'a.b'))).code).toBe(SigCode.BadState);
  });
});

describe('browser entry', () => {
  it('imports neither ws nor node: modules, transitively', () => {
    const seen = new Set<string>();
    const external = new Set<string>();
    // `import type` / `export type` are erased: they may name a package the bundle never loads.
    const typeOnly = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/^\s*(?:import|export)\s([^'"]*?)from\s+'([^']+)'/gm)) {
        const spec = m[2] as string;
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
        else if (/^type\s/.test(m[1] as string)) typeOnly.add(spec);
        else external.add(spec);
      }
    };
    visit(path.resolve(import.meta.dirname, '../src/browser.ts'));
    expect([...seen].map((f) => path.basename(f)).sort()).toEqual(['browser.ts', 'client.ts', 'errors.ts', 'messages.ts', 'signal-relay.ts']);
    expect([...external].sort()).toEqual(['rxjs']);
    expect([...typeOnly].sort()).toEqual(['@unimic/transport/browser']);
  });
});
