import { SignalingClient, type WebSocketFactory, type WebSocketLike } from '@unimic/signaling/browser';
import { BrowserPeer, type BrowserHeartbeatOptions, type TokensReliability } from '@unimic/transport/browser';
import type { EdgePeerOptions } from './edge-peer.ts';
import { openEdgeConnection, type EdgeConnectionOf, type EdgeSetupOptions } from './setup.ts';

/*
 * An edge in a browser: the same session as connectEdge (node.ts), with the browser's WebSocket
 * for signaling and its RTCPeerConnection (BrowserPeer) as the offerer. The caller brings the
 * pack and the models (onnxruntime-web, `wasmRuntime` from @unimic/models/wasm). Nothing reachable
 * from this entry imports werift, ws, onnxruntime-node or a node: module.
 */

export { EdgePeer } from './edge-peer.ts';
export type { EdgeEvent, EdgePeerOptions, EdgeTask, SizedGrid } from './edge-peer.ts';
export { PreviewRenderer, fillUnknown } from './preview.ts';
export type { FillModel } from './preview.ts';
export type { EdgeSetupOptions, SetupAttemptInfo } from './setup.ts';

export interface BrowserEdgeConnectOptions extends Omit<EdgePeerOptions, 'transport'> {
  readonly signalingUrl: string;
  readonly token: string;
  /** Reliability of the tokens channel; default reliable. */
  readonly tokens?: TokensReliability;
  /** STUN/TURN servers for real networks (with `loopbackOnly: false`). */
  readonly iceServers?: RTCIceServer[];
  /** Offer only 127.x candidates (default true: the werift cloud on loopback accepts nothing else). */
  readonly loopbackOnly?: boolean;
  /** Makes the signaling socket; default the browser's WebSocket. */
  readonly webSocket?: WebSocketFactory;
  /** Liveness: heartbeat sent every 250 ms; the cloud counts as lost after `timeoutMs` of silence. Default 250 / 5000 ms. */
  readonly heartbeat?: BrowserHeartbeatOptions | false;
  /** Setup attempts (a wedged handshake is retried with a fresh peer) and progress. */
  readonly setup?: EdgeSetupOptions;
}

/**
 * The edge's patience with a silent cloud. The heartbeat it sends is the usual 250 ms one, but
 * it waits 5 s (not WeriftPeer's 1.5 s) before declaring the cloud lost: a cloud worker running
 * its generative model on onnxruntime-node computes on its event loop thread (the binding's
 * `run` is synchronous behind a setImmediate), so on a loaded machine a single model run keeps
 * its heartbeats in for more than 1.5 s (measured: 1.73 s of silence mid-outpainting, 2 cores).
 */
export const BROWSER_EDGE_HEARTBEAT: BrowserHeartbeatOptions = { intervalMs: 250, timeoutMs: 5000 };

export type BrowserEdgeConnection = EdgeConnectionOf<BrowserPeer>;

const browserWebSocket: WebSocketFactory = (url) => new WebSocket(url) as unknown as WebSocketLike;

export async function connectEdgeBrowser(opts: BrowserEdgeConnectOptions): Promise<BrowserEdgeConnection> {
  const t0 = performance.now();
  const client = await SignalingClient.connect(opts.signalingUrl, opts.token, { webSocket: opts.webSocket ?? browserWebSocket });
  const makePeer = () =>
    new BrowserPeer({
      role: 'offerer',
      tokens: opts.tokens ?? { mode: 'reliable' },
      ...(opts.iceServers ? { iceServers: opts.iceServers } : {}),
      ...(opts.loopbackOnly !== undefined ? { loopbackOnly: opts.loopbackOnly } : {}),
      heartbeat: opts.heartbeat ?? BROWSER_EDGE_HEARTBEAT,
    });
  return openEdgeConnection(client, makePeer, opts, opts.setup, t0);
}
