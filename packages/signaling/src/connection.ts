import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { CLOSE_CODE_OF, SignalingError, SigCode } from './errors.ts';
import type { Emit } from './events.ts';
import { TokenBucket, type SignalingLimits } from './limits.ts';
import {
  encodeMessage,
  errorMessage,
  parseClientMessage,
  type ClientMessage,
  type ClientMessageType,
  type Role,
  type ServerMessage,
} from './messages.ts';

/*
 * One client socket, as ws's WebSocket is one socket: what arrives is rate limited, parsed and
 * validated here, so the rest of the server only ever sees valid ClientMessages; what goes out is
 * encoded here; and every way a connection ends (error frame, ws frame error, close, heartbeat
 * silence) goes through `release`, once.
 */

/** How a connection's sessions and registration end: the cause its session peers are told. */
export type ReleaseHow = 'disconnected' | 'lost' | 'shutdown';

/** Terminate a connection that has not completed the close handshake this long after we closed it. */
const CLOSE_GRACE_MS = 1000;

/** What a connection needs from the server it belongs to. */
export interface ConnectionHooks {
  readonly limits: SignalingLimits;
  readonly emit: Emit;
  /** Acts on one valid message; throws a SignalingError to refuse it (a fatal one closes the connection). */
  handle(c: Connection, m: ClientMessage, now: number): void;
  /** Ends the connection's sessions and registration; called at most once per connection. */
  release(c: Connection, how: ReleaseHow): void;
}

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

export class Connection {
  /** `ip:port` of the client, for the `connected` event. */
  readonly remote: string;
  readonly bucket: TokenBucket;
  /** Set by `hello` (auth.ts): the token's role and `sub`. */
  role: Role | null = null;
  sub: string | null = null;
  /** Last sign of life: any message, pong or ping. */
  lastSeen: number;
  /** Last application message (idle timeout). */
  lastMessage: number;
  /** The `hello` deadline (auth.ts); cleared on authentication and on release. */
  authTimer: ReturnType<typeof setTimeout> | null = null;
  /** A fatal error was sent or the socket is going: further input is ignored. */
  closing = false;
  /** Sessions and registration were released (once). */
  released = false;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    req: IncomingMessage,
    private readonly hooks: ConnectionHooks,
    now: number,
  ) {
    const { limits } = hooks;
    this.bucket = new TokenBucket(limits.messagesPerSecond, limits.messageBurst, now);
    this.lastSeen = now;
    this.lastMessage = now;
    this.remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.lastSeen = Date.now();
    });
    ws.on('ping', (data) => this.onPing(data));
    ws.on('error', (err: Error & { code?: unknown }) => this.onError(err));
    ws.on('close', (code) => {
      // 1006: the socket ended without a close frame, i.e. the peer vanished.
      this.release(code === 1006 ? 'lost' : 'disconnected');
      hooks.emit({ time: Date.now(), event: 'disconnected', conn: this.id, role: this.role, id: this.sub, code });
    });
  }

  send(m: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeMessage(m));
  }

  /** Ends the connection's sessions and registration (once); the socket itself is the caller's. */
  release(how: ReleaseHow): void {
    if (this.released) return;
    this.released = true;
    this.closing = true;
    if (this.authTimer) clearTimeout(this.authTimer);
    this.authTimer = null;
    this.hooks.release(this, how);
  }

  /** Closes with `code`; terminates if the close handshake does not finish in time. */
  shut(code: number, reason: string): void {
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
      return;
    }
    this.terminateLater();
  }

  /** Sends the error frame; for a fatal one, releases the connection and closes it. */
  refuse(err: SignalingError, re: ClientMessageType | null): void {
    this.send(errorMessage(err, re));
    this.hooks.emit({ time: Date.now(), event: 'refused', code: err.code, close: err.closeCode, conn: this.id, role: this.role, id: this.sub, message: err.detail });
    if (err.closeCode !== null) {
      this.release('disconnected');
      this.shut(err.closeCode, err.code);
    }
  }

  /**
   * One heartbeat tick: drops a connection silent for longer than the heartbeat timeout, closes an
   * authenticated one idle for longer than the idle timeout, pings the others. `judge` is false on
   * a late tick, which only pings (see server.ts).
   */
  heartbeat(now: number, judge: boolean): void {
    if (this.closing) return;
    const { limits, emit } = this.hooks;
    const silent = now - this.lastSeen;
    if (judge && silent > limits.heartbeatTimeoutMs) {
      emit({ time: now, event: 'heartbeat-timeout', conn: this.id, role: this.role, id: this.sub, silentMs: silent });
      this.release('lost');
      this.ws.terminate();
      return;
    }
    if (judge && this.role !== null && now - this.lastMessage > limits.idleTimeoutMs) {
      this.refuse(new SignalingError(SigCode.IdleTimeout, `no message for ${now - this.lastMessage} ms`), null);
      return;
    }
    try {
      this.ws.ping();
    } catch {
      // socket already closing; the close event releases it
    }
  }

  private terminateLater(): void {
    setTimeout(() => {
      if (this.ws.readyState !== this.ws.CLOSED) this.ws.terminate();
    }, CLOSE_GRACE_MS).unref();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    const { limits, emit } = this.hooks;
    const now = Date.now();
    this.lastSeen = now;
    this.lastMessage = now;
    if (!this.bucket.take(now)) {
      this.refuse(new SignalingError(SigCode.RateLimited, `more than ${limits.messagesPerSecond} messages/s (burst ${limits.messageBurst})`), null);
      return;
    }
    if (isBinary) {
      this.refuse(new SignalingError(SigCode.BinaryFrame, 'binary frames are not part of the protocol'), null);
      return;
    }
    let m: ClientMessage;
    try {
      m = parseClientMessage(rawText(data));
    } catch (err) {
      if (err instanceof SignalingError) this.refuse(err, null);
      else this.refuse(new SignalingError(SigCode.Internal, 'parser failed'), null);
      return;
    }
    try {
      this.hooks.handle(this, m, now);
    } catch (err) {
      if (err instanceof SignalingError) this.refuse(err, m.type);
      else {
        emit({ time: now, event: 'server-error', message: `handling ${m.type}: ${(err as Error)?.message ?? String(err)}` });
        this.refuse(new SignalingError(SigCode.Internal, `internal error handling ${m.type}`), m.type);
      }
    }
  }

  /** Pings from clients are answered by hand, after the rate limit (a ping flood is a message flood). */
  private onPing(data: Buffer): void {
    if (this.closing) return;
    const { limits } = this.hooks;
    const now = Date.now();
    this.lastSeen = now;
    if (!this.bucket.take(now)) {
      this.refuse(new SignalingError(SigCode.RateLimited, `more than ${limits.messagesPerSecond} messages/s (burst ${limits.messageBurst}), pings included`), null);
      return;
    }
    this.ws.pong(data);
  }

  private onError(err: Error & { code?: unknown }): void {
    // Frame errors (WS_ERR_*): ws already closes with 1009 / 1007 / 1002, no error frame can go
    // first. Socket errors are followed by 'close' (1006), which releases the connection.
    if (typeof err.code !== 'string' || !err.code.startsWith('WS_ERR_')) return;
    const code = codeOfWsError(err);
    this.hooks.emit({ time: Date.now(), event: 'refused', code, close: CLOSE_CODE_OF[code], conn: this.id, role: this.role, id: this.sub, message: err.message });
    this.release('disconnected');
    this.terminateLater();
  }
}
