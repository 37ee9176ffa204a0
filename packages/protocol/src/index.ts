export { ErrorCode, ProtocolError, isProtocolError } from './errors.ts';
