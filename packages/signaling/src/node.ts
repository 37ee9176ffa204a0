import WebSocket from 'ws';
import { SignalingClient, type WebSocketLike } from './client.ts';

/** SignalingClient.connect with the `ws` package as the socket (Node). */
export function connectSignaling(url: string, token: string): Promise<SignalingClient> {
  return SignalingClient.connect(url, token, (u) => new WebSocket(u) as unknown as WebSocketLike);
}
