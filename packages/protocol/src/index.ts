/**
 * @unimic/protocol — the pure (I/O-free) heart of UniMIC-RTC: range coder and deterministic
 * frequency tables, chunk framing and control messages, progressive schedules, the task table,
 * and the text codec. Runs unchanged in Node and the browser.
 */
export { ErrorCode, ProtocolError, isProtocolError } from './errors.ts';
export * from './coding/index.ts';
export * from './framing/index.ts';
export * from './schedule/index.ts';
export * from './tasks/index.ts';
export * from './text/index.ts';
export * from './wire/index.ts';
