import { concatMap, from, type Observable } from 'rxjs';
import type { NegotiationMessage, SignalRelay } from '@unimic/transport';

/*
 * Puts the lab's impairment relay on the ICE path. This kernel has no netem, so burst loss and
 * delay happen in a userspace UDP relay (packages/netlab), and the peers must send through it: the
 * edge is told the cloud lives at the relay's address (its candidates are rewritten), and the
 * cloud is told nothing of the edge (the edge's candidates are withheld), so the cloud learns the
 * edge only from the relay's own socket, as a peer-reflexive candidate. Every datagram of the
 * session then crosses the relay, both ways. Pure but for `relayTo`, which opens a relay.
 */

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** `candidate:… 1 udp PRIO ADDRESS PORT typ …`, in an SDP line or a trickled candidate. */
const CANDIDATE = /(candidate:\S+ \d+ udp \d+ )(\S+) (\d+)( typ )/gi;

function stripCandidates(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates')
    .join('\r\n');
}

/**
 * Wraps the edge's signaling relay: its own candidates are withheld, the cloud's rewritten to the
 * relay that `relayTo(cloudEndpoint)` opens (once per distinct endpoint).
 */
export function throughRelay(relay: SignalRelay, relayTo: (target: Endpoint) => Promise<Endpoint>): SignalRelay {
  const opened = new Map<string, Promise<Endpoint>>();
  const via = (target: Endpoint) => {
    const key = `${target.address} ${target.port}`;
    let p = opened.get(key);
    if (!p) opened.set(key, (p = relayTo(target)));
    return p;
  };
  const rewrite = async (text: string): Promise<string> => {
    const found = [...text.matchAll(CANDIDATE)];
    const swaps = await Promise.all(found.map((m) => via({ address: m[2] as string, port: Number(m[3]) })));
    let i = 0;
    return text.replace(CANDIDATE, (_all, head: string, _a, _p, tail: string) => {
      const to = swaps[i++] as Endpoint;
      return `${head}${to.address} ${to.port}${tail}`;
    });
  };
  const messages$: Observable<NegotiationMessage> = relay.messages$.pipe(
    concatMap((m) =>
      from(
        (async (): Promise<NegotiationMessage> => {
          if (m.kind === 'sdp') return { kind: 'sdp', description: { ...m.description, sdp: await rewrite(m.description.sdp) } };
          if (m.candidate === null) return m;
          return { kind: 'candidate', candidate: { ...m.candidate, candidate: await rewrite(m.candidate.candidate) } };
        })(),
      ),
    ),
  );
  return {
    send(m) {
      if (m.kind === 'sdp') relay.send({ kind: 'sdp', description: { ...m.description, sdp: stripCandidates(m.description.sdp) } });
      // a trickled edge candidate would let the cloud answer past the relay, and "no more
      // candidates" would make it give up before the relay's first check: both withheld
    },
    messages$,
  };
}
