import { Subject, type Observable } from 'rxjs';
import { CLOSE_BAD_MESSAGE, CLOSE_NORMAL, codeOfClose, SignalingError, SigCode } from './errors.ts';
import {
  encodeMessage,
  parseServerMessage,
  type ClientLimits,
  type ClientMessage,
  type Role,
  type ServerMessage,
  type SignalData,
  type WorkerStatus,
} from './messages.ts';

/*
 * The signaling client. No `ws` import and no node: module here: it runs on anything that provides
 * a WebSocket with the browser's shape (the browser's own, or the `ws` package in Node, see node.ts).
 */

/** The part of a WebSocket the client uses: the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface SignalingClientOptions {
  /** Makes the socket: `(url) => new WebSocket(url)` in a browser; node.ts supplies the ws one. */
  webSocket: WebSocketFactory;
  /** Socket open + `welcome`, ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Reply to `register-worker` / `open-session`, ms. Default 10 000. */
  requestTimeoutMs?: number;
  /** Send `ping` every third of the server's idle timeout so an idle connection stays. Default true. */
  keepalive?: boolean;
}

export interface ClientClose {
  /** WebSocket close code (1006: the connection dropped without a close frame). */
  code: number;
  reason: string;
  /** The fatal error the server sent before closing, or the one the close code stands for; null for a plain close. */
  error: SignalingError | null;
}

interface Pending<T> {
  resolve(v: T): void;
  reject(e: SignalingError): void;
  timer: ReturnType<typeof setTimeout>;
}

const OPEN = 1;

function unrefTimer(t: ReturnType<typeof setTimeout> | ReturnType<typeof setInterval>): void {
  (t as { unref?: () => void }).unref?.();
}

/**
 * One authenticated signaling connection. Create it with `SignalingClient.connect` (or
 * `connectSignaling` in Node). Every validated server message after `welcome` is emitted on
 * `messages$` (a hot stream: subscribe before the message you wait for can arrive); error frames
 * also appear on `errors$`. `closed` resolves once the socket has closed.
 */
export class SignalingClient {
  readonly messages$: Observable<ServerMessage>;
  readonly errors$: Observable<SignalingError>;
  readonly closed: Promise<ClientClose>;

  private readonly inbound = new Subject<ServerMessage>();
  private readonly errorSubject = new Subject<SignalingError>();
  private resolveClosed: (c: ClientClose) => void = () => undefined;
  private welcome: Extract<ServerMessage, { type: 'welcome' }> | null = null;
  /** The last fatal error (an error frame with a close code, or a violation by the server). */
  private fatal: SignalingError | null = null;
  private isClosed = false;
  private keepaliveTimer: ReturnType<typeof setInterval> | null = null;
  private pendingRegister: Pending<{ worker: string; capacity: number }> | null = null;
  private pendingOpen: Pending<string> | null = null;

  private constructor(
    private readonly ws: WebSocketLike,
    private readonly requestTimeoutMs: number,
  ) {
    this.messages$ = this.inbound.asObservable();
    this.errors$ = this.errorSubject.asObservable();
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /**
   * Opens the socket, sends `hello` with `token` and resolves after `welcome`.
   * Rejects with a SignalingError: the server's code (SIG_AUTH_INVALID, SIG_AUTH_EXPIRED, ...),
   * SIG_CONNECT_FAILED, SIG_TIMEOUT, or SIG_CLOSED.
   */
  static connect(url: string, token: string, options: SignalingClientOptions): Promise<SignalingClient> {
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const ws = options.webSocket(url);
    const client = new SignalingClient(ws, options.requestTimeoutMs ?? 10_000);
    return new Promise<SignalingClient>((resolve, reject) => {
      let settled = false;
      const fail = (err: SignalingError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      const timer = setTimeout(() => {
        fail(new SignalingError(SigCode.Timeout, `no welcome from ${url} within ${connectTimeoutMs} ms`));
        client.close(CLOSE_NORMAL, 'connect timeout');
      }, connectTimeoutMs);
      unrefTimer(timer);

      ws.onopen = () => client.sendRaw({ type: 'hello', token });
      ws.onerror = () => {
        if (ws.readyState !== OPEN && client.welcome === null) {
          fail(new SignalingError(SigCode.ConnectFailed, `cannot open a WebSocket to ${url}`));
        }
      };
      ws.onclose = (ev) => {
        const info = client.onClose(ev.code, String(ev.reason ?? ''));
        fail(info.error ?? new SignalingError(SigCode.Closed, `closed (${ev.code}) before welcome`));
      };
      ws.onmessage = (ev) => {
        const m = client.receive(ev.data);
        if (m === null || settled) return;
        if (m.type === 'welcome') {
          settled = true;
          clearTimeout(timer);
          client.welcome = m;
          ws.onclose = (e) => void client.onClose(e.code, String(e.reason ?? ''));
          ws.onmessage = (e) => {
            const next = client.receive(e.data);
            if (next !== null) client.dispatch(next);
          };
          if (options.keepalive ?? true) client.startKeepalive(m.limits.idleTimeoutMs);
          resolve(client);
        } else if (m.type === 'error') {
          const err = new SignalingError(m.code, m.message);
          if (err.closeCode !== null) client.fatal = err;
          client.errorSubject.next(err);
          fail(err);
        } else {
          client.violation(new SignalingError(SigCode.BadState, `${m.type} before welcome`));
        }
      };
    });
  }

  /** The token's role. */
  get role(): Role {
    return this.welcomed().role;
  }

  /** The token's `sub`: the worker id (cloud) or the session id this edge may open. */
  get id(): string {
    return this.welcomed().id;
  }

  /** The server's limits, as announced in `welcome`. */
  get limits(): ClientLimits {
    return this.welcomed().limits;
  }

  /**
   * Registers this cloud connection as a worker; resolves with its id and session capacity. The
   * promise may be ignored (a refusal also arrives on `errors$`).
   */
  registerWorker(): Promise<{ worker: string; capacity: number }> {
    if (this.pendingRegister) return Promise.reject(new SignalingError(SigCode.BadState, 'register-worker already in flight'));
    const reply = this.request<{ worker: string; capacity: number }>((p) => (this.pendingRegister = p), { type: 'register-worker' });
    // Callers may fire and forget; a refusal then shows on errors$ instead of as an unhandled rejection.
    reply.catch(() => undefined);
    return reply;
  }

  /** Tells the server whether this worker takes new sessions. */
  setStatus(status: WorkerStatus): void {
    this.sendRaw({ type: 'worker-status', status });
  }

  /**
   * Asks for a cloud worker (edge); resolves with the session id (the token's `sub`) once a worker is
   * assigned. Rejects with SIG_NO_WORKER when none is available, SIG_SESSION_EXISTS, ...
   */
  openSession(): Promise<string> {
    if (this.pendingOpen) return Promise.reject(new SignalingError(SigCode.BadState, 'open-session already in flight'));
    return this.request((p) => (this.pendingOpen = p), { type: 'open-session' });
  }

  /** Sends an SDP or an ICE candidate to the other member of `session`. */
  signal(session: string, data: SignalData): void {
    this.sendRaw({ type: 'signal', session, data });
  }

  /** Leaves `session`; both members get `session-closed`. */
  leave(session: string): void {
    this.sendRaw({ type: 'leave', session });
  }

  /** Closes the connection (the server ends its sessions). Idempotent. */
  close(code = CLOSE_NORMAL, reason = 'bye'): void {
    if (this.ws.readyState <= OPEN) this.ws.close(code, reason);
  }

  private welcomed(): Extract<ServerMessage, { type: 'welcome' }> {
    if (this.welcome === null) throw new SignalingError(SigCode.BadState, 'not connected');
    return this.welcome;
  }

  private request<T>(register: (p: Pending<T>) => void, m: { type: 'register-worker' | 'open-session' }): Promise<T> {
    if (this.isClosed) return Promise.reject(this.fatal ?? new SignalingError(SigCode.Closed, 'connection closed'));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(m.type, null, new SignalingError(SigCode.Timeout, `no reply to ${m.type} within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      unrefTimer(timer);
      register({ resolve, reject, timer });
      this.sendRaw(m);
    });
  }

  /** Resolves or rejects the request `type` is the answer to. */
  private settle(type: 'register-worker' | 'open-session', value: unknown, err: SignalingError | null): void {
    const p = type === 'register-worker' ? this.pendingRegister : this.pendingOpen;
    if (!p) return;
    if (type === 'register-worker') this.pendingRegister = null;
    else this.pendingOpen = null;
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else (p.resolve as (v: unknown) => void)(value);
  }

  private sendRaw(m: ClientMessage): void {
    if (this.ws.readyState === OPEN) this.ws.send(encodeMessage(m));
  }

  /** Validates one inbound frame; a bad one is a violation by the server (closes with 4400). */
  private receive(data: unknown): ServerMessage | null {
    if (this.isClosed) return null;
    if (typeof data !== 'string') {
      this.violation(new SignalingError(SigCode.BinaryFrame, 'binary frame'));
      return null;
    }
    try {
      return parseServerMessage(data);
    } catch (err) {
      this.violation(err instanceof SignalingError ? err : String(err));
      return null;
    }
  }

  private dispatch(m: ServerMessage): void {
    if (m.type === 'registered') this.settle('register-worker', { worker: m.worker, capacity: m.capacity }, null);
    else if (m.type === 'session-assigned' && this.role === 'edge') this.settle('open-session', m.session, null);
    else if (m.type === 'error') {
      const err = new SignalingError(m.code, m.message);
      if (err.closeCode !== null) this.fatal = err;
      if (m.re === 'register-worker' || m.re === 'open-session') this.settle(m.re, null, err);
      this.errorSubject.next(err);
    }
    this.inbound.next(m);
  }

  /** The server broke the protocol: keep the parser's code, close with 4400. */
  private violation(why: SignalingError | string): void {
    const code = typeof why === 'string' ? SigCode.InvalidField : why.code;
    const detail = typeof why === 'string' ? why : why.detail;
    const err = new SignalingError(code, `server sent an invalid message: ${detail}`, CLOSE_BAD_MESSAGE);
    this.fatal = err;
    this.errorSubject.next(err);
    this.close(CLOSE_BAD_MESSAGE, code);
  }

  private startKeepalive(idleTimeoutMs: number): void {
    const every = Math.max(50, Math.floor(idleTimeoutMs / 3));
    this.keepaliveTimer = setInterval(() => this.sendRaw({ type: 'ping' }), every);
    unrefTimer(this.keepaliveTimer);
  }

  private onClose(code: number, reason: string): ClientClose {
    const mapped = codeOfClose(code);
    const error =
      this.fatal ?? (mapped !== null ? new SignalingError(mapped, `connection closed by ws (${code})`) : null);
    const info: ClientClose = { code, reason, error };
    if (this.isClosed) return info;
    this.isClosed = true;
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    const pendingErr = error ?? new SignalingError(SigCode.Closed, `connection closed (${code}${reason ? ` ${reason}` : ''})`);
    this.settle('register-worker', null, pendingErr);
    this.settle('open-session', null, pendingErr);
    this.inbound.complete();
    this.errorSubject.complete();
    this.resolveClosed(info);
    return info;
  }
}
