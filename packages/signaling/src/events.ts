import { Subject, type Observable } from 'rxjs';
import type { SigCode } from './errors.ts';
import type { Role, WorkerStatus } from './messages.ts';

/*
 * What the server reports: one record per thing that happens. The modules of the server (connection,
 * auth, registry, relay) all emit into one stream, so a log or a test reads a single ordered history.
 */

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

/** Reports one event (synchronously, to the hook and then to `events$`). */
export type Emit = (e: SignalingEvent) => void;

export interface EventStream {
  readonly emit: Emit;
  readonly events$: Observable<SignalingEvent>;
  /** Ends `events$` (after the server's last event, `closed`). */
  complete(): void;
}

/** The server's event stream; `onEvent` sees every event first, and what it throws is swallowed. */
export function eventStream(onEvent?: (e: SignalingEvent) => void): EventStream {
  const events = new Subject<SignalingEvent>();
  return {
    emit: (e) => {
      try {
        onEvent?.(e);
      } catch {
        // a logging hook must not take the server down
      }
      events.next(e);
    },
    events$: events.asObservable(),
    complete: () => events.complete(),
  };
}
