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

export interface NegotiateOptions {
  /** Give up after this long (default 10 s). */
  readonly timeoutMs?: number;
  /** Abandons the negotiation (its signaling session closed, or the caller gave up). */
  readonly signal?: AbortSignal;
}

/** negotiate() ran past its time or was abandoned. */
export class NegotiationError extends Error {
  override readonly name = 'NegotiationError';
  constructor(
    readonly code: 'ERR_NEGOTIATION_TIMEOUT' | 'ERR_NEGOTIATION_ABORTED',
    message: string,
  ) {
    super(message);
    Object.setPrototypeOf(this, NegotiationError.prototype);
  }
}

/**
 * Runs offer/answer and candidate exchange over `relay` until both channels are open.
 * The offerer speaks first; the answerer waits for the offer.
 */
export async function negotiate(peer: NegotiatingPeer, relay: SignalRelay, options: NegotiateOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const subs = [
    peer.localCandidates$.subscribe((candidate) => relay.send({ kind: 'candidate', candidate })),
    relay.messages$
      .pipe(filter((m): m is Extract<NegotiationMessage, { kind: 'candidate' }> => m.kind === 'candidate'))
      .subscribe((m) => void peer.addRemoteCandidate(m.candidate).catch(() => undefined)),
  ];
  const sdp = (type: 'offer' | 'answer') =>
    firstValueFrom(relay.messages$.pipe(filter((m): m is Extract<NegotiationMessage, { kind: 'sdp' }> => m.kind === 'sdp' && m.description.type === type)));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NegotiationError('ERR_NEGOTIATION_TIMEOUT', `negotiation did not finish within ${timeoutMs} ms`)), timeoutMs);
    onAbort = () => reject(new NegotiationError('ERR_NEGOTIATION_ABORTED', 'negotiation abandoned'));
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
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
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    for (const s of subs) s.unsubscribe();
  }
}
