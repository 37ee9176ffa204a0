import { Subject, type Observable } from 'rxjs';
import type { ServerMessage } from './messages.ts';
import type { SigCode } from './errors.ts';

/** The part of a WebSocket the client needs: the browser's and the `ws` package's both fit. */
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

export class SignalingRefused extends Error {
  override readonly name = 'SignalingRefused';
  constructor(readonly code: SigCode, message: string) {
    super(`${code}: ${message}`);
  }
}

/**
 * A signaling connection, authenticated with a token. Server messages arrive on `messages$`;
 * `errors$` carries the server's `error` messages; `closed` resolves when the socket closes.
 * No ws import here, so the browser can use it with its own WebSocket.
 */
export class SignalingClient {
  readonly messages$: Observable<ServerMessage>;
  readonly errors$: Observable<SignalingRefused>;
  readonly closed: Promise<{ code: number; reason: string }>;
  role: 'edge' | 'cloud' | null = null;
  id: string | null = null;
  private readonly inbound = new Subject<ServerMessage>();
  private readonly errorSubject = new Subject<SignalingRefused>();

  private constructor(private readonly ws: WebSocketLike) {
    this.messages$ = this.inbound.asObservable();
    this.errors$ = this.errorSubject.asObservable();
    this.closed = new Promise((resolve) => {
      ws.onclose = (ev) => {
        this.inbound.complete();
        this.errorSubject.complete();
        resolve({ code: ev.code, reason: String(ev.reason) });
      };
    });
    ws.onmessage = (ev) => {
      let m: ServerMessage;
      try {
        m = JSON.parse(String(ev.data)) as ServerMessage;
      } catch {
        return; // the server only sends JSON; ignore anything else rather than crash
      }
      if (m.type === 'error') this.errorSubject.next(new SignalingRefused(m.code, m.message));
      this.inbound.next(m);
    };
  }

  /** Opens the socket and authenticates; rejects with SignalingRefused if the server says no. */
  static connect(url: string, token: string, factory: WebSocketFactory): Promise<SignalingClient> {
    const ws = factory(url);
    const client = new SignalingClient(ws);
    return new Promise((resolve, reject) => {
      ws.onerror = () => reject(new Error(`cannot reach signaling server at ${url}`));
      ws.onopen = () => client.send({ type: 'hello', token });
      const sub = client.messages$.subscribe((m) => {
        if (m.type === 'welcome') {
          client.role = m.role;
          client.id = m.id;
          sub.unsubscribe();
          resolve(client);
        } else if (m.type === 'error') {
          sub.unsubscribe();
          reject(new SignalingRefused(m.code, m.message));
        }
      });
      void client.closed.then(({ code, reason }) => reject(new Error(`signaling closed (${code} ${reason}) before welcome`)));
    });
  }

  send(message: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  registerWorker(): void {
    this.send({ type: 'register' });
  }

  setAvailable(available: boolean): void {
    this.send({ type: 'status', available });
  }

  /** Asks for a cloud worker; resolves with the session id. */
  openSession(): Promise<string> {
    return new Promise((resolve, reject) => {
      const sub = this.messages$.subscribe({
        next: (m) => {
          if (m.type === 'session') {
            sub.unsubscribe();
            resolve(m.session);
          } else if (m.type === 'error') {
            sub.unsubscribe();
            reject(new SignalingRefused(m.code, m.message));
          }
        },
        complete: () => reject(new Error('signaling closed before a session was assigned')),
      });
      this.send({ type: 'open-session' });
    });
  }

  signal(session: string, data: object): void {
    this.send({ type: 'signal', session, data });
  }

  leave(session: string): void {
    this.send({ type: 'leave', session });
  }

  close(): void {
    this.ws.close(1000, 'bye');
  }
}
