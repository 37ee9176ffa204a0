import type { AddressInfo } from 'node:net';
import { Subject, type Observable } from 'rxjs';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  CLOSE_CODE_OF,
  CLOSE_GOING_AWAY,
  SignalingError,
  SigCode,
} from './errors.ts';
import { resolveLimits, TokenBucket, type SignalingLimits } from './limits.ts';
import {
  encodeMessage,
  errorMessage,
  parseClientMessage,
  type ClientMessage,
  type ClientMessageType,
  type Role,
  type ServerMessage,
  type SessionCloseReason,
  type WorkerStatus,
} from './messages.ts';
import { generateSecret, mintToken, ReplayGuard, secretBytes, verifyToken } from './tokens.ts';

/** How a session ended, as the server logs it. */
export type SessionEndCause =
  | 'edge-left'
  | 'worker-left'
  | 'edge-disconnected'
  | 'worker-disconnected'
  | 'edge-lost'
  | 'worker-lost'
  | 'server-shutdown';

/**
 * One record per thing that happens, for logs and tests. Never carries a secret or a token.
 * `conn` is a per-server connection number (`c1`, `c2`, ...); `id` is the token's `sub`.
 */
export type SignalingEvent = { time: number } & (
  | { event: 'listening'; host: string; port: number }
  | { event: 'connected'; conn: string; remote: string }
  | { event: 'authenticated'; conn: string; role: Role; id: string }
  | { event: 'refused'; code: SigCode; close: number | null; conn: string; role: Role | null; id: string | null; message: string }
  | { event: 'worker-registered'; conn: string; worker: string; capacity: number }
  | { event: 'worker-status'; worker: string; status: WorkerStatus }
  | { event: 'session-opened'; session: string; worker: string }
  | { event: 'signal'; session: string; from: Role; kind: 'sdp' | 'candidate' }
  | { event: 'session-closed'; session: string; worker: string; cause: SessionEndCause }
  | { event: 'heartbeat-timeout'; conn: string; role: Role | null; id: string | null; silentMs: number }
  | { event: 'disconnected'; conn: string; role: Role | null; id: string | null; code: number }
  | { event: 'server-error'; message: string }
  | { event: 'closed' }
);

export type SignalingEventName = SignalingEvent['event'];

export interface SignalingServerOptions {
  /** TCP port; 0 (the default) picks an ephemeral one: read it back from `address.port`. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (loopback only). */
  host?: string;
  /**
   * HMAC-SHA256 key for tokens, at least 32 bytes (a string is taken as UTF-8). Without one the
   * server makes a random secret at start (the embedded default): then only tokens from this
   * server's own `mintToken` are accepted, which is how it hands tokens to its own processes.
   */
  secret?: Uint8Array | string;
  /** Overrides of DEFAULT_LIMITS (all limits stay on). */
  limits?: Partial<SignalingLimits>;
  /** Called synchronously for every event; exceptions it throws are swallowed. */
  onEvent?: (e: SignalingEvent) => void;
}

export interface SignalingServer {
  readonly address: { readonly host: string; readonly port: number };
  /** `ws://host:port`. */
  readonly url: string;
  readonly limits: SignalingLimits;
  /** Whether the secret came from the options or was generated at start. */
  readonly secretSource: 'provided' | 'generated';
  /** Every event (the same records `onEvent` receives); completes after `close()`. */
  readonly events$: Observable<SignalingEvent>;
  /**
   * Mints a token with this server's secret: how the embedded default (random secret) hands tokens
   * to its own processes. `sub` is the worker id (cloud) or the session id (edge); default ttl 60 s.
   */
  mintToken(role: Role, sub: string, ttlMs?: number): string;
  /** Counts, for tests and health checks. */
  stats(): { connections: number; workers: number; sessions: number; availableWorkers: number };
  /**
   * Tells every session member `session-closed` (`server-shutdown`), closes every connection with
   * 1001 (terminating those that do not finish the close handshake within a second) and stops
   * listening. Idempotent.
   */
  close(): Promise<void>;
}

interface Worker {
  readonly id: string;
  readonly conn: Conn;
  readonly capacity: number;
  status: WorkerStatus;
  readonly sessions: Set<Session>;
  readonly registeredAt: number;
  lastAssigned: number;
}

interface Session {
  readonly id: string;
  readonly edge: Conn;
  readonly worker: Worker;
}

interface Conn {
  readonly id: string;
  readonly ws: WebSocket;
  readonly bucket: TokenBucket;
  role: Role | null;
  sub: string | null;
  /** Set once registered (cloud only). */
  worker: Worker | null;
  /** The edge's open session (at most one). */
  session: Session | null;
  /** Last sign of life: any message, pong or ping. */
  lastSeen: number;
  /** Last application message (idle timeout). */
  lastMessage: number;
  authTimer: ReturnType<typeof setTimeout> | null;
  /** A fatal error was sent or the socket is going: further input is ignored. */
  closing: boolean;
  /** Sessions and registration were released (once). */
  released: boolean;
}

/** Terminate a connection that has not completed the close handshake this long after we closed it. */
const CLOSE_GRACE_MS = 1000;

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** The SigCode for an error ws raised while reading a frame (`WS_ERR_...`). */
function codeOfWsError(err: Error & { code?: unknown }): SigCode {
  switch (err.code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return SigCode.TooLarge;
    case 'WS_ERR_INVALID_UTF8':
      return SigCode.InvalidUtf8;
    default:
      return SigCode.WsProtocol;
  }
}

/**
 * Starts a signaling server and resolves once it listens.
 * @throws RangeError for invalid limits or a short secret; rejects when the port cannot be bound.
 */
export async function createSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const limits = resolveLimits(options.limits);
  const secretSource: 'provided' | 'generated' = options.secret === undefined ? 'generated' : 'provided';
  const secret = options.secret === undefined ? generateSecret() : secretBytes(options.secret);
  const host = options.host ?? '127.0.0.1';
  const listenPort = options.port ?? 0;
  if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65_535) {
    throw new RangeError(`port must be an integer in [0, 65535], got ${listenPort}`);
  }

  const events = new Subject<SignalingEvent>();
  const emit = (e: SignalingEvent) => {
    try {
      options.onEvent?.(e);
    } catch {
      // a logging hook must not take the server down
    }
    events.next(e);
  };

  const wss = new WebSocketServer({
    host,
    port: listenPort,
    maxPayload: limits.maxMessageBytes,
    perMessageDeflate: false,
    clientTracking: false,
    // Pings from clients are answered by hand, after the rate limit (a ping flood is a message flood).
    autoPong: false,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    wss.once('error', onError);
    wss.once('listening', () => {
      wss.off('error', onError);
      resolve();
    });
  });
  wss.on('error', (err) => emit({ time: Date.now(), event: 'server-error', message: err.message }));
  const port = (wss.address() as AddressInfo).port;

  const conns = new Set<Conn>();
  const workers = new Map<string, Worker>();
  const sessions = new Map<string, Session>();
  const replay = new ReplayGuard();
  let nextConn = 1;
  let closing: Promise<void> | null = null;

  const send = (c: Conn, m: ServerMessage) => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(encodeMessage(m));
  };

  const closeSession = (s: Session, by: Conn | null, how: 'left' | 'disconnected' | 'lost' | 'shutdown') => {
    if (sessions.get(s.id) !== s) return;
    sessions.delete(s.id);
    if (s.edge.session === s) s.edge.session = null;
    s.worker.sessions.delete(s);
    for (const member of [s.edge, s.worker.conn]) {
      let reason: SessionCloseReason;
      if (how === 'shutdown') reason = 'server-shutdown';
      else if (member === by) {
        if (how !== 'left') continue; // that member is gone
        reason = 'left';
      } else reason = `peer-${how}`;
      send(member, { type: 'session-closed', session: s.id, reason });
    }
    const side = by === s.edge ? 'edge' : 'worker';
    const cause: SessionEndCause = how === 'shutdown' ? 'server-shutdown' : `${side}-${how}`;
    emit({ time: Date.now(), event: 'session-closed', session: s.id, worker: s.worker.id, cause });
  };

  /** Ends the connection's sessions and registration (once); the socket itself is handled by the caller. */
  const release = (c: Conn, how: 'disconnected' | 'lost' | 'shutdown') => {
    if (c.released) return;
    c.released = true;
    c.closing = true;
    conns.delete(c);
    if (c.authTimer) clearTimeout(c.authTimer);
    c.authTimer = null;
    if (c.session) closeSession(c.session, c, how);
    const w = c.worker;
    if (w) {
      for (const s of [...w.sessions]) closeSession(s, c, how);
      if (workers.get(w.id) === w) workers.delete(w.id);
    }
  };

  /** Closes `c` with `code`; terminates it if the close handshake does not finish in time. */
  const shut = (c: Conn, code: number, reason: string) => {
    try {
      c.ws.close(code, reason);
    } catch {
      c.ws.terminate();
      return;
    }
    setTimeout(() => {
      if (c.ws.readyState !== c.ws.CLOSED) c.ws.terminate();
    }, CLOSE_GRACE_MS).unref();
  };

  /** Sends the error frame; for a fatal one, releases the connection and closes it. */
  const refuse = (c: Conn, err: SignalingError, re: ClientMessageType | null) => {
    send(c, errorMessage(err, re));
    emit({ time: Date.now(), event: 'refused', code: err.code, close: err.closeCode, conn: c.id, role: c.role, id: c.sub, message: err.detail });
    if (err.closeCode !== null) {
      release(c, 'disconnected');
      shut(c, err.closeCode, err.code);
    }
  };

  /**
   * The available worker with free capacity to assign: workers that answered the last heartbeat
   * first (one that has been silent for over half-way to the heartbeat timeout may be vanishing),
   * then the least loaded, then the least recently assigned. Busy, full and dropped workers never.
   */
  const suspectAfterMs = Math.floor((limits.heartbeatIntervalMs + limits.heartbeatTimeoutMs) / 2);
  const pickWorker = (now: number): Worker | null => {
    let best: Worker | null = null;
    let bestKey: [number, number, number] = [0, 0, 0];
    for (const w of workers.values()) {
      if (w.status !== 'available' || w.sessions.size >= w.capacity || w.conn.closing) continue;
      const key: [number, number, number] = [now - w.conn.lastSeen > suspectAfterMs ? 1 : 0, w.sessions.size, w.lastAssigned];
      if (best === null || key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
        best = w;
        bestKey = key;
      }
    }
    return best;
  };

  const memberOf = (c: Conn, sessionId: string): Session => {
    const s = sessions.get(sessionId);
    // One answer for "no such session" and "not yours", so ids of other sessions are not probed.
    if (!s || (s.edge !== c && s.worker.conn !== c)) {
      throw new SignalingError(SigCode.NotMember, `not a member of session "${sessionId}"`);
    }
    return s;
  };

  const needRole = (c: Conn, role: Role, what: string) => {
    if (c.role !== role) throw new SignalingError(SigCode.WrongRole, `${what} needs a ${role} token, this connection is ${c.role ?? 'anonymous'}`);
  };

  const authenticate = (c: Conn, token: string, now: number) => {
    const claims = verifyToken(secret, token, { now, maxTtlMs: limits.maxTokenTtlMs });
    replay.use(claims, now);
    c.role = claims.role;
    c.sub = claims.sub;
    if (c.authTimer) clearTimeout(c.authTimer);
    c.authTimer = null;
    send(c, {
      type: 'welcome',
      role: claims.role,
      id: claims.sub,
      limits: {
        maxMessageBytes: limits.maxMessageBytes,
        messagesPerSecond: limits.messagesPerSecond,
        messageBurst: limits.messageBurst,
        idleTimeoutMs: limits.idleTimeoutMs,
      },
    });
    emit({ time: now, event: 'authenticated', conn: c.id, role: claims.role, id: claims.sub });
  };

  const handle = (c: Conn, m: ClientMessage, now: number) => {
    if (c.role === null || c.sub === null) {
      if (m.type !== 'hello') throw new SignalingError(SigCode.AuthRequired, `${m.type} before hello`);
      authenticate(c, m.token, now);
      return;
    }
    const sub = c.sub;
    switch (m.type) {
      case 'hello':
        throw new SignalingError(SigCode.BadState, 'already authenticated');
      case 'ping':
        send(c, { type: 'pong' });
        return;
      case 'register-worker': {
        needRole(c, 'cloud', 'register-worker');
        if (c.worker) throw new SignalingError(SigCode.BadState, `already registered as worker "${c.worker.id}"`);
        if (workers.has(sub)) throw new SignalingError(SigCode.DuplicateWorker, `worker "${sub}" is registered by another connection`);
        const w: Worker = {
          id: sub,
          conn: c,
          capacity: limits.maxSessionsPerWorker,
          status: 'available',
          sessions: new Set(),
          registeredAt: now,
          lastAssigned: 0,
        };
        workers.set(sub, w);
        c.worker = w;
        send(c, { type: 'registered', worker: sub, capacity: w.capacity });
        emit({ time: now, event: 'worker-registered', conn: c.id, worker: sub, capacity: w.capacity });
        return;
      }
      case 'worker-status': {
        needRole(c, 'cloud', 'worker-status');
        if (!c.worker) throw new SignalingError(SigCode.BadState, 'worker-status before register-worker');
        c.worker.status = m.status;
        emit({ time: now, event: 'worker-status', worker: c.worker.id, status: m.status });
        return;
      }
      case 'open-session': {
        needRole(c, 'edge', 'open-session');
        if (c.session) throw new SignalingError(SigCode.SessionExists, `this connection is in session "${c.session.id}" already`);
        if (sessions.has(sub)) throw new SignalingError(SigCode.SessionExists, `session "${sub}" is open on another connection`);
        const w = pickWorker(now);
        if (!w) {
          throw new SignalingError(SigCode.NoWorker, `no cloud worker available (${workers.size} registered, all busy or at capacity)`);
        }
        const s: Session = { id: sub, edge: c, worker: w };
        sessions.set(s.id, s);
        c.session = s;
        w.sessions.add(s);
        w.lastAssigned = now;
        const assigned: ServerMessage = { type: 'session-assigned', session: s.id, worker: w.id };
        send(c, assigned);
        send(w.conn, assigned);
        emit({ time: now, event: 'session-opened', session: s.id, worker: w.id });
        return;
      }
      case 'signal': {
        const s = memberOf(c, m.session);
        const to = s.edge === c ? s.worker.conn : s.edge;
        send(to, { type: 'signal', session: s.id, data: m.data });
        emit({ time: now, event: 'signal', session: s.id, from: c.role, kind: m.data.kind });
        return;
      }
      case 'leave': {
        const s = memberOf(c, m.session);
        closeSession(s, c, 'left');
        return;
      }
    }
  };

  const onMessage = (c: Conn, data: RawData, isBinary: boolean) => {
    if (c.closing) return;
    const now = Date.now();
    c.lastSeen = now;
    c.lastMessage = now;
    if (!c.bucket.take(now)) {
      refuse(c, new SignalingError(SigCode.RateLimited, `more than ${limits.messagesPerSecond} messages/s (burst ${limits.messageBurst})`), null);
      return;
    }
    if (isBinary) {
      refuse(c, new SignalingError(SigCode.BinaryFrame, 'binary frames are not part of the protocol'), null);
      return;
    }
    let m: ClientMessage;
    try {
      m = parseClientMessage(rawText(data));
    } catch (err) {
      if (err instanceof SignalingError) refuse(c, err, null);
      else refuse(c, new SignalingError(SigCode.Internal, 'parser failed'), null);
      return;
    }
    try {
      handle(c, m, now);
    } catch (err) {
      if (err instanceof SignalingError) refuse(c, err, m.type);
      else {
        emit({ time: now, event: 'server-error', message: `handling ${m.type}: ${(err as Error)?.message ?? String(err)}` });
        refuse(c, new SignalingError(SigCode.Internal, `internal error handling ${m.type}`), m.type);
      }
    }
  };

  wss.on('connection', (ws, req) => {
    const now = Date.now();
    const c: Conn = {
      id: `c${nextConn++}`,
      ws,
      bucket: new TokenBucket(limits.messagesPerSecond, limits.messageBurst, now),
      role: null,
      sub: null,
      worker: null,
      session: null,
      lastSeen: now,
      lastMessage: now,
      authTimer: null,
      closing: false,
      released: false,
    };
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    ws.on('message', (data, isBinary) => onMessage(c, data, isBinary));
    ws.on('pong', () => {
      c.lastSeen = Date.now();
    });
    ws.on('ping', (data) => {
      if (c.closing) return;
      const now = Date.now();
      c.lastSeen = now;
      if (!c.bucket.take(now)) {
        refuse(c, new SignalingError(SigCode.RateLimited, `more than ${limits.messagesPerSecond} messages/s (burst ${limits.messageBurst}), pings included`), null);
        return;
      }
      ws.pong(data);
    });
    ws.on('error', (err: Error & { code?: unknown }) => {
      // Frame errors (WS_ERR_*): ws already closes with 1009 / 1007 / 1002, no error frame can go
      // first. Socket errors are followed by 'close' (1006), which releases the connection.
      if (typeof err.code !== 'string' || !err.code.startsWith('WS_ERR_')) return;
      const code = codeOfWsError(err);
      emit({ time: Date.now(), event: 'refused', code, close: CLOSE_CODE_OF[code], conn: c.id, role: c.role, id: c.sub, message: err.message });
      release(c, 'disconnected');
      setTimeout(() => {
        if (ws.readyState !== ws.CLOSED) ws.terminate();
      }, CLOSE_GRACE_MS).unref();
    });
    ws.on('close', (code) => {
      // 1006: the socket ended without a close frame, i.e. the peer vanished.
      release(c, code === 1006 ? 'lost' : 'disconnected');
      emit({ time: Date.now(), event: 'disconnected', conn: c.id, role: c.role, id: c.sub, code });
    });

    emit({ time: now, event: 'connected', conn: c.id, remote });
    if (closing) {
      c.released = true;
      shut(c, CLOSE_GOING_AWAY, 'server shutdown');
      return;
    }
    if (conns.size >= limits.maxConnections) {
      c.released = true;
      c.closing = true;
      refuse(c, new SignalingError(SigCode.ServerFull, `${limits.maxConnections} connections open`), null);
      return;
    }
    conns.add(c);
    c.authTimer = setTimeout(() => {
      c.authTimer = null;
      if (c.role === null && !c.closing) {
        refuse(c, new SignalingError(SigCode.AuthTimeout, `no valid hello within ${limits.authTimeoutMs} ms`), null);
      }
    }, limits.authTimeoutMs);
  });

  // One timer for heartbeats, idle checks and replay-set pruning.
  let lastTick = Date.now();
  const tick = setInterval(() => {
    const now = Date.now();
    // A tick that runs late (this process was descheduled or busy) cannot judge silence: pongs may
    // be waiting unread behind it. Ping only, and judge at the next tick.
    const judge = now - lastTick < 2 * limits.heartbeatIntervalMs;
    lastTick = now;
    for (const c of [...conns]) {
      if (c.closing) continue;
      const silent = now - c.lastSeen;
      if (judge && silent > limits.heartbeatTimeoutMs) {
        emit({ time: now, event: 'heartbeat-timeout', conn: c.id, role: c.role, id: c.sub, silentMs: silent });
        release(c, 'lost');
        c.ws.terminate();
        continue;
      }
      if (judge && c.role !== null && now - c.lastMessage > limits.idleTimeoutMs) {
        refuse(c, new SignalingError(SigCode.IdleTimeout, `no message for ${now - c.lastMessage} ms`), null);
        continue;
      }
      try {
        c.ws.ping();
      } catch {
        // socket already closing; the close event releases it
      }
    }
    replay.prune(now);
  }, limits.heartbeatIntervalMs);

  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;
  emit({ time: Date.now(), event: 'listening', host, port });

  return {
    address: Object.freeze({ host, port }),
    url,
    limits,
    secretSource,
    events$: events.asObservable(),
    mintToken: (role, sub, ttlMs) => mintToken(secret, { role, sub }, ttlMs),
    stats: () => ({
      connections: conns.size,
      workers: workers.size,
      sessions: sessions.size,
      availableWorkers: [...workers.values()].filter((w) => w.status === 'available' && w.sessions.size < w.capacity).length,
    }),
    close: () => {
      if (closing) return closing;
      closing = (async () => {
        clearInterval(tick);
        const open = [...conns];
        for (const s of [...sessions.values()]) closeSession(s, null, 'shutdown');
        const gone = open.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.ws.readyState === c.ws.CLOSED) return resolve();
              c.ws.once('close', () => resolve());
            }),
        );
        for (const c of open) {
          release(c, 'shutdown');
          shut(c, CLOSE_GOING_AWAY, 'server shutdown');
        }
        await Promise.all(gone);
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        emit({ time: Date.now(), event: 'closed' });
        events.complete();
      })();
      return closing;
    },
  };
}
