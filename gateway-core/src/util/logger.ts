import createDebug from 'debug';
import { redact, redactString } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

/**
 * The logger every camgate component takes. Libraries never write to the
 * console; the CLI, Node-RED and Homebridge each supply a sink of their own.
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger for a sub-component: `component` is appended (`hub:tunnel`). */
  child(component: string): Logger;
}

/** One structured record, already redacted. */
export interface LogRecord {
  time: string;
  level: LogLevel;
  component: string;
  msg: string;
  fields: LogFields;
}

export type LogSink = (record: LogRecord) => void;

/** Literal secret values registered at run time (camera passwords, gateway secrets). */
export class SecretSet {
  readonly #values = new Set<string>();
  add(value: string | undefined | null): void {
    if (value) this.#values.add(value);
  }
  values(): string[] {
    return [...this.#values];
  }
}

/**
 * A logger that redacts every field (secret-named keys, URL credentials and
 * the registered literal `secrets`) and hands the record to `sink`.
 */
export function createLogger(component: string, sink: LogSink, secrets: SecretSet = new SecretSet()): Logger {
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    const extra = secrets.values();
    sink({
      time: new Date().toISOString(),
      level,
      component,
      msg: redactString(msg, extra),
      fields: redact(fields, extra) as LogFields,
    });
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (sub) => createLogger(`${component}:${sub}`, sink, secrets),
  };
}

/**
 * A logger that adds `fields` to every record it and its children write — e.g. `{ camera: 'front-door' }`,
 * so every camera-level line names its camera without each call site repeating it.
 */
export function withFields(logger: Logger, fields: LogFields): Logger {
  const merge = (f?: LogFields): LogFields => (f ? { ...fields, ...f } : { ...fields });
  return {
    debug: (m, f) => logger.debug(m, merge(f)),
    info: (m, f) => logger.info(m, merge(f)),
    warn: (m, f) => logger.warn(m, merge(f)),
    error: (m, f) => logger.error(m, merge(f)),
    child: (sub) => withFields(logger.child(sub), fields),
  };
}

/** The default sink: the `debug` package under `camgate:*` (enable with DEBUG=camgate:*). */
export function debugSink(): LogSink {
  const cache = new Map<string, createDebug.Debugger>();
  return (r) => {
    let d = cache.get(r.component);
    if (!d) {
      d = createDebug(`camgate:${r.component}`);
      cache.set(r.component, d);
    }
    if (d.enabled) d('%s %s %o', r.level, r.msg, r.fields);
  };
}

/** The default logger for library code when the caller injects none. */
export function defaultLogger(component: string): Logger {
  return createLogger(component, debugSink());
}

/** A sink that keeps records in memory (tests assert on what was logged). */
export function memorySink(): LogSink & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const sink = ((r: LogRecord) => {
    records.push(r);
  }) as LogSink & { records: LogRecord[] };
  sink.records = records;
  return sink;
}
