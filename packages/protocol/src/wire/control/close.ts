/**
 * `close`: a peer ends the session; the data channels are torn down after it.
 *
 *   { type: 'close', reason }
 */
import type { Fields } from './validate.ts';

export const MAX_CLOSE_REASON_CHARS = 256;

export interface CloseMessage {
  readonly type: 'close';
  readonly reason: string;
}

export function readClose(f: Fields): CloseMessage {
  const reason = f.string('reason', MAX_CLOSE_REASON_CHARS);
  f.end();
  return { type: 'close', reason };
}
