import { WeriftPeer } from './werift-peer.ts';
import type { WeriftPeerOptions } from './werift-peer.ts';

/**
 * Connects an offerer and an answerer living in one process by calling the signaling helpers
 * directly (what a signaling server would relay). Used by tests and the bench until the ws
 * signaling server is wired in. Candidates travel inside the SDP (werift gathers before
 * `setLocalDescription` resolves); trickled ones are relayed as well.
 */
export async function connectInProcess(offerer: WeriftPeer, answerer: WeriftPeer): Promise<void> {
  const subs = [
    offerer.localCandidates$.subscribe((c) => void answerer.addRemoteCandidate(c).catch(() => undefined)),
    answerer.localCandidates$.subscribe((c) => void offerer.addRemoteCandidate(c).catch(() => undefined)),
  ];
  try {
    const offer = await offerer.createOffer();
    const answer = await answerer.acceptOffer(offer);
    await offerer.acceptAnswer(answer);
    await Promise.all([offerer.opened(), answerer.opened()]);
  } finally {
    for (const s of subs) s.unsubscribe();
  }
}

/** Creates and connects a pair of peers on loopback. */
export async function createPeerPair(
  offererOptions: Omit<WeriftPeerOptions, 'role'> = {},
  answererOptions: Omit<WeriftPeerOptions, 'role' | 'tokens'> = {},
): Promise<{ offerer: WeriftPeer; answerer: WeriftPeer }> {
  const offerer = new WeriftPeer({ ...offererOptions, role: 'offerer' });
  const answerer = new WeriftPeer({ ...answererOptions, role: 'answerer' });
  try {
    await connectInProcess(offerer, answerer);
  } catch (err) {
    await Promise.all([offerer.close(), answerer.close()]);
    throw err;
  }
  return { offerer, answerer };
}
