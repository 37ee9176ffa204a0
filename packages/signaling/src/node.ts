import WebSocket from 'ws';
import { SignalingClient, type SignalingClientOptions, type WebSocketLike } from './client.ts';
import { DEFAULT_LIMITS } from './limits.ts';

export interface NodeClientOptions extends Omit<SignalingClientOptions, 'webSocket'> {
  /** Largest frame accepted from the server (ws `maxPayload`). Default: 4 × the default message limit. */
  maxPayload?: number;
}

/** `SignalingClient.connect` with the `ws` package as the socket (Node). */
export function connectSignaling(url: string, token: string, options: NodeClientOptions = {}): Promise<SignalingClient> {
  const { maxPayload = 4 * DEFAULT_LIMITS.maxMessageBytes, ...rest } = options;
  return SignalingClient.connect(url, token, {
    ...rest,
    // ws's WebSocket has the browser's onopen/onmessage/onclose/onerror shape (text frames as strings).
    webSocket: (u) => new WebSocket(u, { maxPayload, perMessageDeflate: false }) as unknown as WebSocketLike,
  });
}
