import { filter, firstValueFrom, type Observable } from 'rxjs';
import type { IceCandidateJson, SessionDescriptionJson } from './types.ts';

/** What negotiation sends through signaling: SDP and trickled candidates, as plain JSON. */
export type NegotiationMessage =
  | { kind: 'sdp'; description: SessionDescriptionJson }
  | { kind: 'candidate'; candidate: IceCandidateJson | null };

/** Any relay between the two peers (the ws signaling session, or a direct call in tests). */
export interface SignalRelay {
  send(message: NegotiationMessage): void;
  readonly messages$: Observable<NegotiationMessage>;
}

/**
 * The peer negotiate() drives. Structural, so it names no implementation: WeriftPeer (Node) and
 * BrowserPeer (the browser's RTCPeerConnection) both fit, and a browser bundle never sees werift.
 */
export interface NegotiatingPeer {
  readonly role: 'offerer' | 'answerer';
  readonly localCandidates$: Observable<IceCandidateJson | null>;
  createOffer(): Promise<SessionDescriptionJson>;
  acceptOffer(offer: SessionDescriptionJson): Promise<SessionDescriptionJson>;
  acceptAnswer(answer: SessionDescriptionJson): Promise<void>;
  addRemoteCandidate(candidate: IceCandidateJson | null): Promise<void>;
  opened(): Promise<void>;
}

/**
 * Runs offer/answer and candidate exchange over `relay` until both channels are open.
 * The offerer speaks first; the answerer waits for the offer.
 */
export async function negotiate(peer: NegotiatingPeer, relay: SignalRelay, timeoutMs = 10_000): Promise<void> {
  const subs = [
    peer.localCandidates$.subscribe((candidate) => relay.send({ kind: 'candidate', candidate })),
    relay.messages$
      .pipe(filter((m): m is Extract<NegotiationMessage, { kind: 'candidate' }> => m.kind === 'candidate'))
      .subscribe((m) => void peer.addRemoteCandidate(m.candidate).catch(() => undefined)),
  ];
  const sdp = (type: 'offer' | 'answer') =>
    firstValueFrom(relay.messages$.pipe(filter((m): m is Extract<NegotiationMessage, { kind: 'sdp' }> => m.kind === 'sdp' && m.description.type === type)));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`negotiation did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        if (peer.role === 'offerer') {
          const answer = sdp('answer');
          relay.send({ kind: 'sdp', description: await peer.createOffer() });
          await peer.acceptAnswer((await answer).description);
        } else {
          const offer = await sdp('offer');
          relay.send({ kind: 'sdp', description: await peer.acceptOffer(offer.description) });
        }
        await peer.opened();
      })(),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
    for (const s of subs) s.unsubscribe();
  }
}
