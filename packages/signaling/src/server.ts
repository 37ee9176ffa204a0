import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { CLOSE_PROTOCOL_ERROR, FATAL_CODES, SignalingError, SigCode } from './errors.ts';
import { parseClientMessage, type ServerMessage } from './messages.ts';
import { mintToken, verifyToken, type Role } from './tokens.ts';

/** Limits are on by default; none of them means "unlimited" at 0. */
export interface SignalingLimits {
  /** Largest frame accepted, bytes (ws maxPayload too). */
  maxMessageBytes: number;
  /** Sustained messages per second per connection (token bucket)… */
  messagesPerSecond: number;
  /** …with this burst. */
  burst: number;
  /** Concurrent sessions one worker serves before it is no longer assigned. */
  sessionsPerWorker: number;
  /** A connection must authenticate (`hello`) within this. */
  authTimeoutMs: number;
  /** A connection that sends nothing for this long is closed. */
  idleTimeoutMs: number;
  /** Ping interval; a peer that misses a pong by the next ping is dropped (loss seen in ≤ 2 × this). */
  heartbeatMs: number;
}

export const DEFAULT_LIMITS: Readonly<SignalingLimits> = Object.freeze({
  maxMessageBytes: 16 * 1024,
  messagesPerSecond: 50,
  burst: 200,
  sessionsPerWorker: 1,
  authTimeoutMs: 5_000,
  idleTimeoutMs: 120_000,
  heartbeatMs: 500,
});

export interface SignalingEvent {
  event: string;
  [key: string]: string | number | boolean;
}

export interface SignalingServerOptions {
  port?: number;
  host?: string;
  /** HMAC secret for tokens; a random one is made when absent (the embedded default). */
  secret?: Uint8Array;
  limits?: Partial<SignalingLimits>;
  /** Receives one structured record per event (never secrets or tokens). */
  log?: (e: SignalingEvent) => void;
}

export interface SignalingServer {
  readonly port: number;
  readonly url: string;
  /** Mints a token with this server's secret: how the embedded default hands tokens to its own processes. */
  mintToken(role: Role, sub: string, ttlMs?: number): string;
  close(): Promise<void>;
}

interface Conn {
  ws: WebSocket;
  role: Role | null;
  id: string;
  sessions: Set<string>;
  /** Workers only: whether they accept new sessions. */
  available: boolean;
  tokens: number;
  lastRefill: number;
  lastSeen: number;
  alive: boolean;
}

interface Session {
  id: string;
  edge: Conn;
  cloud: Conn;
}

export async function createSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const limits: SignalingLimits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`limit ${k} must be a positive number, got ${v}`);
  }
  const secret = options.secret ?? randomBytes(32);
  const log = options.log ?? (() => {});
  const host = options.host ?? '127.0.0.1';
  const wss = new WebSocketServer({ port: options.port ?? 0, host, maxPayload: limits.maxMessageBytes });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const port = (wss.address() as AddressInfo).port;

  const conns = new Set<Conn>();
  const workers = new Map<string, Conn>();
  const sessions = new Map<string, Session>();
  /** jti → expiry: a token is good once. */
  const usedTokens = new Map<string, number>();

  const send = (c: Conn, m: ServerMessage) => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(m));
  };

  const fail = (c: Conn, err: SignalingError) => {
    send(c, { type: 'error', code: err.code, message: err.message });
    log({ event: 'refused', code: err.code, role: c.role ?? 'anonymous', id: c.id });
    if (FATAL_CODES.has(err.code)) c.ws.close(CLOSE_PROTOCOL_ERROR, err.code);
  };

  const closeSession = (s: Session, reason: string, by: Conn | null) => {
    if (!sessions.delete(s.id)) return;
    s.edge.sessions.delete(s.id);
    s.cloud.sessions.delete(s.id);
    for (const member of [s.edge, s.cloud]) if (member !== by) send(member, { type: 'session-closed', session: s.id, reason });
    log({ event: 'session-closed', session: s.id, reason });
  };

  const drop = (c: Conn, reason: string) => {
    if (!conns.delete(c)) return;
    if (c.role === 'cloud' && workers.get(c.id) === c) workers.delete(c.id);
    for (const id of [...c.sessions]) {
      const s = sessions.get(id);
      if (s) closeSession(s, `${c.role ?? 'peer'} ${reason}`, c);
    }
    log({ event: 'disconnected', role: c.role ?? 'anonymous', id: c.id, reason });
  };

  const pickWorker = (): Conn | null => {
    let best: Conn | null = null;
    for (const w of workers.values()) {
      if (!w.available || w.sessions.size >= limits.sessionsPerWorker || w.ws.readyState !== w.ws.OPEN) continue;
      if (!best || w.sessions.size < best.sessions.size) best = w;
    }
    return best;
  };

  const handle = (c: Conn, text: string) => {
    const m = parseClientMessage(text);
    if (c.role === null) {
      if (m.type !== 'hello') throw new SignalingError(SigCode.AuthRequired, `${m.type} before hello`);
      const now = Date.now();
      const claims = verifyToken(secret, m.token, now);
      for (const [jti, exp] of usedTokens) if (exp <= now) usedTokens.delete(jti);
      if (usedTokens.has(claims.jti)) throw new SignalingError(SigCode.AuthReplayed, 'token already used');
      usedTokens.set(claims.jti, claims.exp);
      c.role = claims.role;
      c.id = claims.sub;
      send(c, { type: 'welcome', role: c.role, id: c.id });
      log({ event: 'authenticated', role: c.role, id: c.id });
      return;
    }
    switch (m.type) {
      case 'hello':
        throw new SignalingError(SigCode.Malformed, 'already authenticated');
      case 'register': {
        if (c.role !== 'cloud') throw new SignalingError(SigCode.WrongRole, 'only cloud peers register as workers');
        const previous = workers.get(c.id);
        if (previous && previous !== c) previous.ws.close(CLOSE_PROTOCOL_ERROR, 'replaced');
        workers.set(c.id, c);
        c.available = true;
        log({ event: 'worker-registered', id: c.id });
        return;
      }
      case 'status':
        if (c.role !== 'cloud' || workers.get(c.id) !== c) throw new SignalingError(SigCode.WrongRole, 'only registered workers report status');
        c.available = m.available;
        log({ event: 'worker-status', id: c.id, available: m.available });
        return;
      case 'open-session': {
        if (c.role !== 'edge') throw new SignalingError(SigCode.WrongRole, 'only edge peers open sessions');
        const worker = pickWorker();
        if (!worker) throw new SignalingError(SigCode.NoWorker, 'no cloud worker is available');
        const s: Session = { id: randomBytes(9).toString('base64url'), edge: c, cloud: worker };
        sessions.set(s.id, s);
        c.sessions.add(s.id);
        worker.sessions.add(s.id);
        send(c, { type: 'session', session: s.id, peer: 'cloud' });
        send(worker, { type: 'session', session: s.id, peer: 'edge' });
        log({ event: 'session-opened', session: s.id, edge: c.id, cloud: worker.id });
        return;
      }
      case 'signal': {
        const s = sessions.get(m.session);
        if (!s || (s.edge !== c && s.cloud !== c)) throw new SignalingError(SigCode.NotMember, `not a member of session ${m.session}`);
        send(s.edge === c ? s.cloud : s.edge, { type: 'signal', session: s.id, data: m.data });
        return;
      }
      case 'leave': {
        const s = sessions.get(m.session);
        if (!s || (s.edge !== c && s.cloud !== c)) throw new SignalingError(SigCode.NotMember, `not a member of session ${m.session}`);
        closeSession(s, `${c.role} left`, c);
        return;
      }
    }
  };

  wss.on('connection', (ws) => {
    const now = Date.now();
    const c: Conn = { ws, role: null, id: 'anonymous', sessions: new Set(), available: false, tokens: limits.burst, lastRefill: now, lastSeen: now, alive: true };
    conns.add(c);
    const authTimer = setTimeout(() => {
      if (c.role === null) fail(c, new SignalingError(SigCode.AuthTimeout, `no hello within ${limits.authTimeoutMs} ms`));
    }, limits.authTimeoutMs);
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const t = Date.now();
      c.lastSeen = t;
      c.alive = true;
      // Token bucket: refill, then spend one per message.
      c.tokens = Math.min(limits.burst, c.tokens + ((t - c.lastRefill) / 1000) * limits.messagesPerSecond);
      c.lastRefill = t;
      if (c.tokens < 1) return fail(c, new SignalingError(SigCode.RateLimited, `over ${limits.messagesPerSecond} messages/s`));
      c.tokens -= 1;
      if (isBinary) return fail(c, new SignalingError(SigCode.Malformed, 'binary frames are not part of the protocol'));
      try {
        handle(c, data.toString());
      } catch (err) {
        if (err instanceof SignalingError) fail(c, err);
        else fail(c, new SignalingError(SigCode.Malformed, (err as Error).message));
      }
    });
    ws.on('error', (err) => {
      // ws reports oversized frames here (maxPayload) before closing with 1009.
      log({ event: 'socket-error', id: c.id, message: err.message });
    });
    ws.on('close', () => {
      clearTimeout(authTimer);
      drop(c, 'left');
    });
  });

  // One timer for heartbeats and idle checks: a peer that misses a pong for a whole interval is gone.
  const heartbeat = setInterval(() => {
    const now = Date.now();
    for (const c of conns) {
      if (!c.alive) {
        c.ws.terminate();
        drop(c, 'vanished (no heartbeat)');
        continue;
      }
      if (now - c.lastSeen > limits.idleTimeoutMs) {
        fail(c, new SignalingError(SigCode.Idle, `idle for ${limits.idleTimeoutMs} ms`));
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, limits.heartbeatMs);

  log({ event: 'listening', host, port });
  return {
    port,
    url: `ws://${host}:${port}`,
    mintToken: (role, sub, ttlMs = 60_000) => mintToken(secret, { role, sub }, ttlMs),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        for (const c of conns) c.ws.terminate();
        wss.close(() => resolve());
      }),
  };
}
