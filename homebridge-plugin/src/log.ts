import type { Logging } from 'homebridge';

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
