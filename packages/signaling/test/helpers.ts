import { createHmac } from 'node:crypto';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { CLOSE_CODE_OF, isSigCode, SignalingError, type SigCode } from '../src/errors.ts';
import { createSignalingServer, type SignalingEvent, type SignalingServer } from '../src/server.ts';
import type { SignalingLimits } from '../src/limits.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A fixed 32-byte secret for tests that mint their own tokens. */
export const SECRET = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);

/** Signs an arbitrary payload string the way tokens are signed (to craft validly signed bad claims). */
export function signPayload(secret: Uint8Array, payloadJson: string): string {
  const part = Buffer.from(payloadJson, 'utf8').toString('base64url');
  return `${part}.${createHmac('sha256', secret).update(part, 'ascii').digest('base64url')}`;
}

export interface TestServer {
  server: SignalingServer;
  events: SignalingEvent[];
  /** Resolves with the first event (already seen or future) matching `pred`. */
  waitEvent(pred: (e: SignalingEvent) => boolean, ms?: number): Promise<SignalingEvent>;
}

export async function startServer(limits: Partial<SignalingLimits> = {}): Promise<TestServer> {
  const events: SignalingEvent[] = [];
  const server = await createSignalingServer({ port: 0, secret: SECRET, limits, onEvent: (e) => events.push(e) });
  const waitEvent = async (pred: (e: SignalingEvent) => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = events.find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no matching event within ${ms} ms; saw ${events.map((e) => e.event).join(', ')}`);
      await sleep(10);
    }
  };
  return { server, events, waitEvent };
}

export type Frame = Record<string, unknown>;

/**
 * A raw ws client for frame-level assertions: every inbound text frame is parsed as JSON (not
 * validated: the tests check what the server really sent) and queued; `next` takes them in order.
 */
export class Probe {
  readonly inbox: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private wake: (() => void) | null = null;
  private isClosed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.inbox.push(isBinary ? { binary: true } : (JSON.parse(String(data)) as Frame));
      this.wake?.();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.isClosed = true;
        this.wake?.();
        resolve({ code, reason: reason.toString() });
      });
    });
    ws.on('error', () => undefined);
  }

  static open(url: string, options: WebSocket.ClientOptions = {}): Promise<Probe> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const p = new Probe(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(p));
      ws.once('error', reject);
    });
  }

  /** Opens a connection and authenticates with `token`; resolves after `welcome`. */
  static async authed(url: string, token: string, options: WebSocket.ClientOptions = {}): Promise<Probe> {
    const p = await Probe.open(url, options);
    p.send({ type: 'hello', token });
    const w = await p.next();
    expect(w.type, JSON.stringify(w)).toBe('welcome');
    return p;
  }

  send(m: Frame | string): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** The next frame (of `type`, skipping others when given); rejects after `ms` or on close. */
  async next(type?: string, ms = 5000): Promise<Frame> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex((m) => type === undefined || m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Frame;
      if (this.isClosed) throw new Error(`closed while waiting for ${type ?? 'a frame'}; inbox ${JSON.stringify(this.inbox)}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no ${type ?? 'frame'} within ${ms} ms; inbox ${JSON.stringify(this.inbox)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = null;
    }
  }

  /** Sends `ping` and waits for the `pong`: everything the server sent before it is in `inbox` now. */
  async roundTrip(): Promise<void> {
    this.send({ type: 'ping' });
    await this.next('pong');
  }

  /** Asserts that the next error frame has `code` and, for a fatal one, that the close code follows. */
  async expectError(code: SigCode, re: string | null = null): Promise<Frame> {
    const e = await this.next('error');
    expect(e.code, JSON.stringify(e)).toBe(code);
    expect(e.re).toBe(re);
    expect(isSigCode(e.code)).toBe(true);
    const close = CLOSE_CODE_OF[code];
    if (close !== null) {
      const c = await withTimeout(this.closed, 5000, `close after ${code}`);
      expect(c.code).toBe(close);
      expect(c.reason).toBe(code);
    } else {
      expect(this.isOpen).toBe(true);
    }
    return e;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}

/** Closes everything registered, for afterEach. */
export class Cleanup {
  private readonly items: Array<() => unknown> = [];
  add<T extends { close(): unknown }>(x: T): T {
    this.items.push(() => x.close());
    return x;
  }
  async run(): Promise<void> {
    const items = this.items.splice(0).reverse();
    for (const f of items) await f();
  }
}

/** Asserts that `fn` throws a SignalingError with exactly `code`, and returns it. */
export function expectCode(fn: () => unknown, code: SigCode): SignalingError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SignalingError);
  const err = caught as SignalingError;
  expect(err.code, err.message).toBe(code);
  return err;
}
