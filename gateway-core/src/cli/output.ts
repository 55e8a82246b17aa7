import type { LogLevel, LogRecord, LogSink } from '../util/index.js';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Formats one field value for a `key=value` log line. */
function fieldText(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}

/**
 * The CLI's log sink: one human-readable line per record on stderr,
 * `time LEVEL component message key=value …`, already redacted by the logger.
 * `--json-logs` switches to one JSON object per line for log collectors.
 */
export function terminalSink(minLevel: LogLevel, json = false): LogSink {
  const min = ORDER[minLevel];
  return (r: LogRecord) => {
    if (ORDER[r.level] < min) return;
    if (json) {
      process.stderr.write(`${JSON.stringify(r)}\n`);
      return;
    }
    const fields = Object.entries(r.fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${fieldText(v)}`)
      .join(' ');
    process.stderr.write(
      `${r.time} ${r.level.toUpperCase().padEnd(5)} ${r.component} ${r.msg}${fields ? ` ${fields}` : ''}\n`,
    );
  };
}

/** Prints a line for the person at the terminal (not a log record). */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Resolves when SIGINT or SIGTERM arrives, so a command can close everything cleanly. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
