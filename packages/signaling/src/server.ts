import type { AddressInfo } from 'node:net';
import type { Observable } from 'rxjs';
import { WebSocketServer } from 'ws';
import { createAuth } from './auth.ts';
import { Connection, type ConnectionHooks } from './connection.ts';
import { CLOSE_GOING_AWAY, SignalingError, SigCode } from './errors.ts';
import { eventStream, type SignalingEvent } from './events.ts';
import { resolveLimits, type SignalingLimits } from './limits.ts';
import type { ClientMessage, Role } from './messages.ts';
import { WorkerRegistry } from './registry.ts';
import { Relay } from './relay.ts';

/*
 * The signaling server: a ws WebSocketServer whose connections (connection.ts) authenticate
 * (auth.ts), register as workers (registry.ts) or open sessions, and signal within them (relay.ts).
 * This file wires those together and routes each valid message to the one that owns it.
 */

export type { SessionEndCause, SignalingEvent, SignalingEventName } from './events.ts';

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

/** Binds; rejects when the port cannot be bound. */
async function listen(host: string, port: number, limits: SignalingLimits): Promise<WebSocketServer> {
  const wss = new WebSocketServer({
    host,
    port,
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
  return wss;
}

function needRole(c: Connection, role: Role, what: string): void {
  if (c.role !== role) throw new SignalingError(SigCode.WrongRole, `${what} needs a ${role} token, this connection is ${c.role ?? 'anonymous'}`);
}

/**
 * Starts a signaling server and resolves once it listens.
 * @throws RangeError for invalid limits or a short secret; rejects when the port cannot be bound.
 */
export async function createSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const limits = resolveLimits(options.limits);
  const { emit, events$, complete } = eventStream(options.onEvent);
  const auth = createAuth(options.secret, limits, emit);
  const host = options.host ?? '127.0.0.1';
  const listenPort = options.port ?? 0;
  if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65_535) {
    throw new RangeError(`port must be an integer in [0, 65535], got ${listenPort}`);
  }

  const wss = await listen(host, listenPort, limits);
  wss.on('error', (err) => emit({ time: Date.now(), event: 'server-error', message: err.message }));
  const port = (wss.address() as AddressInfo).port;

  const conns = new Set<Connection>();
  const registry = new WorkerRegistry(limits);
  const relay = new Relay(registry, emit);
  let nextConn = 1;
  let closing: Promise<void> | null = null;

  /** Every valid message goes to the module that owns it; what it throws is refused (connection.ts). */
  const handle = (c: Connection, m: ClientMessage, now: number) => {
    if (c.role === null || c.sub === null) {
      if (m.type !== 'hello') throw new SignalingError(SigCode.AuthRequired, `${m.type} before hello`);
      auth.authenticate(c, m.token, now);
      return;
    }
    switch (m.type) {
      case 'hello':
        throw new SignalingError(SigCode.BadState, 'already authenticated');
      case 'ping':
        c.send({ type: 'pong' });
        return;
      case 'register-worker': {
        needRole(c, 'cloud', 'register-worker');
        const w = registry.register(c, c.sub, now);
        c.send({ type: 'registered', worker: w.id, capacity: w.capacity });
        emit({ time: now, event: 'worker-registered', conn: c.id, worker: w.id, capacity: w.capacity });
        return;
      }
      case 'worker-status': {
        needRole(c, 'cloud', 'worker-status');
        const w = registry.setStatus(c, m.status);
        emit({ time: now, event: 'worker-status', worker: w.id, status: m.status });
        return;
      }
      case 'open-session':
        needRole(c, 'edge', 'open-session');
        relay.open(c, c.sub, now);
        return;
      case 'signal':
        relay.signal(c, c.role, m.session, m.data, now);
        return;
      case 'leave':
        relay.leave(c, m.session);
        return;
    }
  };

  const hooks: ConnectionHooks = {
    limits,
    emit,
    handle,
    release: (c, how) => {
      conns.delete(c);
      relay.release(c, registry.of(c), how);
      registry.unregister(c);
    },
  };

  wss.on('connection', (ws, req) => {
    const now = Date.now();
    const c = new Connection(`c${nextConn++}`, ws, req, hooks, now);
    emit({ time: now, event: 'connected', conn: c.id, remote: c.remote });
    if (closing) {
      c.released = true;
      c.shut(CLOSE_GOING_AWAY, 'server shutdown');
      return;
    }
    if (conns.size >= limits.maxConnections) {
      c.released = true;
      c.closing = true;
      c.refuse(new SignalingError(SigCode.ServerFull, `${limits.maxConnections} connections open`), null);
      return;
    }
    conns.add(c);
    auth.expectHello(c);
  });

  // One timer for heartbeats, idle checks and replay-set pruning.
  let lastTick = Date.now();
  const tick = setInterval(() => {
    const now = Date.now();
    // A tick that runs late (this process was descheduled or busy) cannot judge silence: pongs may
    // be waiting unread behind it. Ping only, and judge at the next tick.
    const judge = now - lastTick < 2 * limits.heartbeatIntervalMs;
    lastTick = now;
    for (const c of [...conns]) c.heartbeat(now, judge);
    auth.prune(now);
  }, limits.heartbeatIntervalMs);

  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;
  emit({ time: Date.now(), event: 'listening', host, port });

  return {
    address: Object.freeze({ host, port }),
    url,
    limits,
    secretSource: auth.secretSource,
    events$,
    mintToken: (role, sub, ttlMs) => auth.mintToken(role, sub, ttlMs),
    stats: () => ({
      connections: conns.size,
      workers: registry.size,
      sessions: relay.size,
      availableWorkers: registry.available,
    }),
    close: () => {
      if (closing) return closing;
      closing = (async () => {
        clearInterval(tick);
        const open = [...conns];
        relay.closeAll();
        const gone = open.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.ws.readyState === c.ws.CLOSED) return resolve();
              c.ws.once('close', () => resolve());
            }),
        );
        for (const c of open) {
          c.release('shutdown');
          c.shut(CLOSE_GOING_AWAY, 'server shutdown');
        }
        await Promise.all(gone);
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        emit({ time: Date.now(), event: 'closed' });
        complete();
      })();
      return closing;
    },
  };
}
