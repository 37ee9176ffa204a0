import type { Connection, ReleaseHow } from './connection.ts';
import { SignalingError, SigCode } from './errors.ts';
import type { Emit, SessionEndCause } from './events.ts';
import type { Role, SessionCloseReason, SignalData, ServerMessage } from './messages.ts';
import type { Worker, WorkerRegistry } from './registry.ts';

/*
 * Sessions: one edge paired with one worker. The server relays `signal` between the two members and
 * nobody else, so a session is the only way one client's data reaches another; and when a session
 * ends, each member still there is told why, in its own terms (`left`, `peer-lost`, ...).
 */

export interface Session {
  /** The edge token's `sub`. */
  readonly id: string;
  readonly edge: Connection;
  readonly worker: Worker;
}

/** How a session ends: a member left, or its connection was released (connection.ts). */
type EndHow = 'left' | ReleaseHow;

export class Relay {
  private readonly sessions = new Map<string, Session>();
  /** The edge's open session (at most one per connection). */
  private readonly byEdge = new Map<Connection, Session>();

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly emit: Emit,
  ) {}

  /** Open sessions. */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * Opens session `id` for `edge` with the worker the registry picks, and tells both members.
   * @throws SignalingError SIG_SESSION_EXISTS, SIG_NO_WORKER.
   */
  open(edge: Connection, id: string, now: number): void {
    const mine = this.byEdge.get(edge);
    if (mine) throw new SignalingError(SigCode.SessionExists, `this connection is in session "${mine.id}" already`);
    if (this.sessions.has(id)) throw new SignalingError(SigCode.SessionExists, `session "${id}" is open on another connection`);
    const w = this.registry.pick(now);
    if (!w) {
      throw new SignalingError(SigCode.NoWorker, `no cloud worker available (${this.registry.size} registered, all busy or at capacity)`);
    }
    const s: Session = { id, edge, worker: w };
    this.sessions.set(s.id, s);
    this.byEdge.set(edge, s);
    this.registry.assign(w, s.id, now);
    const assigned: ServerMessage = { type: 'session-assigned', session: s.id, worker: w.id };
    edge.send(assigned);
    w.conn.send(assigned);
    this.emit({ time: now, event: 'session-opened', session: s.id, worker: w.id });
  }

  /** Forwards `data` from `from` to the other member. @throws SignalingError SIG_NOT_MEMBER. */
  signal(from: Connection, role: Role, session: string, data: SignalData, now: number): void {
    const s = this.memberOf(from, session);
    const to = s.edge === from ? s.worker.conn : s.edge;
    to.send({ type: 'signal', session: s.id, data });
    this.emit({ time: now, event: 'signal', session: s.id, from: role, kind: data.kind });
  }

  /** `c` leaves `session`. @throws SignalingError SIG_NOT_MEMBER. */
  leave(c: Connection, session: string): void {
    this.close(this.memberOf(c, session), c, 'left');
  }

  /** Ends every session of `c` (as edge, or as `worker`): its connection is going. */
  release(c: Connection, worker: Worker | undefined, how: ReleaseHow): void {
    const mine = this.byEdge.get(c);
    if (mine) this.close(mine, c, how);
    if (worker) {
      for (const id of [...worker.sessions]) {
        const s = this.sessions.get(id);
        if (s) this.close(s, c, how);
      }
    }
  }

  /** Ends every session (`server-shutdown` to all members). */
  closeAll(): void {
    for (const s of [...this.sessions.values()]) this.close(s, null, 'shutdown');
  }

  private memberOf(c: Connection, session: string): Session {
    const s = this.sessions.get(session);
    // One answer for "no such session" and "not yours", so ids of other sessions are not probed.
    if (!s || (s.edge !== c && s.worker.conn !== c)) {
      throw new SignalingError(SigCode.NotMember, `not a member of session "${session}"`);
    }
    return s;
  }

  /** Ends `s` (once): `by` is the member whose leaving or loss ended it, null on shutdown. */
  private close(s: Session, by: Connection | null, how: EndHow): void {
    if (this.sessions.get(s.id) !== s) return;
    this.sessions.delete(s.id);
    if (this.byEdge.get(s.edge) === s) this.byEdge.delete(s.edge);
    this.registry.unassign(s.worker, s.id);
    for (const member of [s.edge, s.worker.conn]) {
      let reason: SessionCloseReason;
      if (how === 'shutdown') reason = 'server-shutdown';
      else if (member === by) {
        if (how !== 'left') continue; // that member is gone
        reason = 'left';
      } else reason = `peer-${how}`;
      member.send({ type: 'session-closed', session: s.id, reason });
    }
    const side = by === s.edge ? 'edge' : 'worker';
    const cause: SessionEndCause = how === 'shutdown' ? 'server-shutdown' : `${side}-${how}`;
    this.emit({ time: Date.now(), event: 'session-closed', session: s.id, worker: s.worker.id, cause });
  }
}
