/** The session with the cloud: a fresh token, signaling and WebRTC, and a new session when the last one died. */
import type { TaskName } from '@unimic/protocol';
import { connectEdgeBrowser, type BrowserEdgeConnection } from '@unimic/edge-peer/browser';
import { fetchOk, setMsStat } from './dom.ts';
import { page, setState } from './state.ts';
import { showCloudTasks } from './view.ts';

/** GET /api/session: where to signal, with a fresh single-use edge token. */
interface SessionGrant {
  readonly signalingUrl: string;
  readonly token: string;
}

let conn: BrowserEdgeConnection | null = null;
let connecting: Promise<BrowserEdgeConnection> | null = null;

/** The open session, or a new one (callers at the same time share it). */
export async function ensureConnected(): Promise<BrowserEdgeConnection> {
  if (conn && conn.transport.state === 'open') return conn;
  if (connecting) return connecting;
  connecting = (async () => {
    const { edge } = page;
    if (!edge) throw new Error('models not loaded');
    setState('connecting', 'connecting to the cloud (signaling → WebRTC)…');
    // each session needs a fresh single-use token
    const grant = (await (await fetchOk('/api/session')).json()) as SessionGrant;
    const c = await connectEdgeBrowser({ signalingUrl: grant.signalingUrl, token: grant.token, pack: edge.pack, models: edge.models.list });
    conn = c;
    page.cloudTasks = [...c.cloud.capabilities.tasks] as TaskName[];
    showCloudTasks(page.cloudTasks);
    setMsStat('s-setup', c.setupMs);
    c.transport.state$.subscribe((s) => {
      if ((s === 'closed' || s === 'failed') && conn === c) {
        conn = null;
        console.warn(`transport ${s}: ${c.transport.failureReason ?? ''}`);
        void c.close(); // the signaling connection and the edge's subscriptions go too
        if (!page.busy) setState('ready', `disconnected (${c.transport.failureReason ?? s}); the next run reconnects`);
      }
    });
    return c;
  })();
  try {
    return await connecting;
  } finally {
    connecting = null;
  }
}

export function closeConnection() {
  void conn?.close();
}
