import { filter, map } from 'rxjs';
import type { SignalRelay } from '@unimic/transport/browser';
import type { SignalingClient } from './client.ts';
import type { ServerMessage } from './messages.ts';

/*
 * The glue between signaling and the transport: negotiate() speaks to a SignalRelay, and a
 * signaling session is one. It lives next to the client because it is the client's view of one
 * session; the transport type is imported as a type only (erased), so the browser entry stays free
 * of werift.
 */

/**
 * A SignalRelay over `session` of `client`: offers, answers and ICE candidates to and from the
 * other member only. `messages$` is hot like `client.messages$`: subscribe before the peer speaks.
 */
export function signalRelay(client: SignalingClient, session: string): SignalRelay {
  return {
    send: (m) => client.signal(session, m),
    messages$: client.messages$.pipe(
      filter((m): m is Extract<ServerMessage, { type: 'signal' }> => m.type === 'signal' && m.session === session),
      map((m) => m.data),
    ),
  };
}
