export { CamgateError, hasCode } from './errors.js';
export { bareHost, classifyHost, isLanAddress, isLoopbackHost, isMdnsName, type HostClass } from './host-class.js';
export { redact, redactString, REDACTED } from './redact.js';
export {
  createLogger,
  defaultLogger,
  memorySink,
  SecretSet,
  withFields,
  type Logger,
  type LogLevel,
  type LogRecord,
  type LogSink,
} from './logger.js';
export { addressKey, normalizeAddress } from './address.js';
