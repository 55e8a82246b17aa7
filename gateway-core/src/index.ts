/**
 * @camgate/core — the public face. Node-RED nodes, the Homebridge plugin and
 * the CLI import from here only.
 */
export {
  CamgateError,
  hasCode,
  redact,
  createLogger,
  defaultLogger,
  memorySink,
  SecretSet,
  type Logger,
  type LogRecord,
  type LogSink,
} from './util/index.js';
