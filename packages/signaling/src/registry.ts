import type { Connection } from './connection.ts';
import { SignalingError, SigCode } from './errors.ts';
import type { SignalingLimits } from './limits.ts';
import type { WorkerStatus } from './messages.ts';

/*
 * The cloud workers: who is registered, whether each takes sessions, how loaded it is, and which one
 * the next session goes to. Sessions themselves are relay.ts's; a worker only counts their ids.
 */

export interface Worker {
  readonly id: string;
  readonly conn: Connection;
  readonly capacity: number;
  status: WorkerStatus;
  /** Ids of the sessions it serves now (relay.ts keeps the sessions). */
  readonly sessions: Set<string>;
  readonly registeredAt: number;
  lastAssigned: number;
}

export class WorkerRegistry {
  private readonly byId = new Map<string, Worker>();
  private readonly byConn = new Map<Connection, Worker>();
  /** A worker silent for longer than this (half-way to the heartbeat timeout) may be vanishing. */
  private readonly suspectAfterMs: number;

  constructor(private readonly limits: SignalingLimits) {
    this.suspectAfterMs = Math.floor((limits.heartbeatIntervalMs + limits.heartbeatTimeoutMs) / 2);
  }

  /** Registered workers. */
  get size(): number {
    return this.byId.size;
  }

  /** Workers that would take a session now (available, below capacity). */
  get available(): number {
    return [...this.byId.values()].filter((w) => w.status === 'available' && w.sessions.size < w.capacity).length;
  }

  /** The worker `c` registered, if any. */
  of(c: Connection): Worker | undefined {
    return this.byConn.get(c);
  }

  /** Registers `c` as worker `id` (its token's `sub`). @throws SignalingError */
  register(c: Connection, id: string, now: number): Worker {
    const mine = this.byConn.get(c);
    if (mine) throw new SignalingError(SigCode.BadState, `already registered as worker "${mine.id}"`);
    if (this.byId.has(id)) throw new SignalingError(SigCode.DuplicateWorker, `worker "${id}" is registered by another connection`);
    const w: Worker = {
      id,
      conn: c,
      capacity: this.limits.maxSessionsPerWorker,
      status: 'available',
      sessions: new Set(),
      registeredAt: now,
      lastAssigned: 0,
    };
    this.byId.set(id, w);
    this.byConn.set(c, w);
    return w;
  }

  /** Sets the status of `c`'s worker. @throws SignalingError before registration. */
  setStatus(c: Connection, status: WorkerStatus): Worker {
    const w = this.byConn.get(c);
    if (!w) throw new SignalingError(SigCode.BadState, 'worker-status before register-worker');
    w.status = status;
    return w;
  }

  /**
   * The available worker with free capacity to assign: workers that answered the last heartbeat
   * first (one that has been silent for over half-way to the heartbeat timeout may be vanishing),
   * then the least loaded, then the least recently assigned. Busy, full and dropped workers never.
   */
  pick(now: number): Worker | null {
    let best: Worker | null = null;
    let bestKey: [number, number, number] = [0, 0, 0];
    for (const w of this.byId.values()) {
      if (w.status !== 'available' || w.sessions.size >= w.capacity || w.conn.closing) continue;
      const key: [number, number, number] = [now - w.conn.lastSeen > this.suspectAfterMs ? 1 : 0, w.sessions.size, w.lastAssigned];
      if (best === null || key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
        best = w;
        bestKey = key;
      }
    }
    return best;
  }

  /** Counts session `session` against `w`. */
  assign(w: Worker, session: string, now: number): void {
    w.sessions.add(session);
    w.lastAssigned = now;
  }

  /** Stops counting session `session` against `w`. */
  unassign(w: Worker, session: string): void {
    w.sessions.delete(session);
  }

  /** Drops `c`'s registration (its sessions must be closed first: relay.ts). */
  unregister(c: Connection): void {
    const w = this.byConn.get(c);
    if (!w) return;
    this.byConn.delete(c);
    if (this.byId.get(w.id) === w) this.byId.delete(w.id);
  }
}
