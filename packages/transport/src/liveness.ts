/*
 * Peer liveness, shared by WeriftPeer (Node) and BrowserPeer (page): a heartbeat every interval on
 * the control channel, and the peer counted lost after a timeout of silence on both channels.
 * Timers only; PeerLifecycle (peer-lifecycle.ts) owns the channels and the state.
 */

/** The heartbeat text message (transport-level, never delivered to the application). */
export const HEARTBEAT_TEXT = 'hb';

export interface HeartbeatTiming {
  /** A heartbeat is sent this often (ms). */
  intervalMs: number;
  /** With nothing received for this long (ms), the peer counts as lost. */
  timeoutMs: number;
}

export interface LivenessHooks {
  /** When anything was last received from the peer (performance.now()). */
  lastRx(): number;
  setLastRx(t: number): void;
  isOpen(): boolean;
  /** Sends one heartbeat (errors are ignored: they surface as a state change). */
  ping(): void;
  lost(reason: string): void;
}

/** Starts the heartbeat; returns the interval handle to clear. */
export function startHeartbeat(timing: HeartbeatTiming, hooks: LivenessHooks): ReturnType<typeof setInterval> {
  let lastTick = performance.now();
  return setInterval(() => {
    if (!hooks.isOpen()) return;
    const now = performance.now();
    // A late tick means this thread was blocked (model inference) or throttled: what came
    // meanwhile is still queued behind this timer, so the blocked time is not the peer's silence.
    // Credit it; a peer that is really gone is still found one timeout later.
    if (now - lastTick > 2 * timing.intervalMs) hooks.setLastRx(Math.max(hooks.lastRx(), now - timing.intervalMs));
    lastTick = now;
    const silent = now - hooks.lastRx();
    if (silent > timing.timeoutMs) {
      hooks.lost(`peer lost: nothing received for ${Math.round(silent)} ms`);
      return;
    }
    try {
      hooks.ping();
    } catch {
      // a send error shows up as a state change
    }
  }, timing.intervalMs);
}
