import { filter, map, type Observable } from 'rxjs';

/*
 * A SignalRelay (transport's negotiate()) over one signaling session: offers, answers and ICE
 * candidates to and from the other member only. Structural types, so this package needs neither
 * the signaling client nor werift.
 */
interface SignalingLike {
  signal(session: string, data: never): void;
  readonly messages$: Observable<{ type: string; session?: string; data?: unknown }>;
}

export function sessionRelay<T>(client: SignalingLike, session: string): { send: (m: T) => void; messages$: Observable<T> } {
  return {
    send: (m) => client.signal(session, m as never),
    messages$: client.messages$.pipe(
      filter((m) => m.type === 'signal' && m.session === session),
      map((m) => m.data as T),
    ),
  };
}
