/**
 * `error`: a peer reports a failure, optionally tied to one request. `code` is meant for
 * programs (e.g. an ErrorCode), `message` for humans.
 *
 *   { type: 'error', code, message, requestId? }
 */
import type { Fields } from './validate.ts';

export const MAX_ERROR_CODE_CHARS = 64;
export const MAX_ERROR_MESSAGE_CHARS = 1024;

export interface ErrorMessage {
  readonly type: 'error';
  readonly code: string;
  readonly message: string;
  readonly requestId?: number;
}

export function readError(f: Fields): ErrorMessage {
  const code = f.string('code', MAX_ERROR_CODE_CHARS);
  const message = f.string('message', MAX_ERROR_MESSAGE_CHARS);
  const requestId = f.optUint('requestId');
  f.end();
  return requestId === undefined
    ? { type: 'error', code, message }
    : { type: 'error', code, message, requestId };
}
