import type { Logging } from 'homebridge';
import type { LogRecord, LogSink } from '@camgate/core';

/** The plugin's logger: Homebridge's `log`, each line prefixed `[camera]` (camera-ffmpeg `logger.ts`). */
export interface PrefixedLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

/** Lines about one camera carry `[its name]`; platform lines none (Homebridge already prints `[camgate]`). */
export function prefixed(log: Logging, prefix?: string): PrefixedLog {
  const p = prefix ? `[${prefix}] ` : '';
  return {
    info: (m) => log.info(p + m),
    warn: (m) => log.warn(p + m),
    error: (m) => log.error(p + m),
    debug: (m) => log.debug(p + m),
  };
}

/**
 * Where @camgate/core's log records go in Homebridge: at their own level (an error stays an error, info stays
 * info, as Homebridge users filter by level), `component: message`, prefixed `[camera]` when the record names
 * one. Records are already redacted by core's logger.
 */
export function homebridgeSink(log: PrefixedLog | Logging): LogSink {
  return (r: LogRecord) => {
    const camera = typeof r.fields.camera === 'string' ? `[${r.fields.camera}] ` : '';
    const line = `${camera}${r.component}: ${r.msg}`;
    log[r.level](line);
  };
}
