import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CamgateError, createLogger, SecretSet, type Logger, type LogLevel } from '../util/index.js';
import { terminalSink } from './output.js';

/** Options every long-running command takes. */
export const LOG_OPTIONS = {
  verbose: { type: 'boolean', short: 'v' },
  'log-level': { type: 'string' },
  'json-logs': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const LOG_HELP = `  -v, --verbose        debug logs, with every Kurento message this command relays
                       or serves (camera credentials and tokens redacted)
      --log-level L    debug | info | warn | error (default: info)
      --json-logs      one JSON object per log line
  -h, --help           show this help`;

/** Parses argv strictly; an unknown option is a usage error naming it. */
export function parse<O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new CamgateError('CAMGATE_USAGE', (err as Error).message);
  }
}

/** A logger for the terminal, with the command's secrets registered for redaction. */
export function cliLogger(
  values: { verbose?: boolean; 'log-level'?: string; 'json-logs'?: boolean },
  component: string,
  secrets: SecretSet = new SecretSet(),
): Logger {
  const level = (values.verbose ? 'debug' : (values['log-level'] ?? 'info')) as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    throw new CamgateError('CAMGATE_USAGE', `--log-level ${level}: use debug, info, warn or error`);
  }
  return createLogger(component, terminalSink(level, values['json-logs'] ?? false), secrets);
}

export function requireOption(value: string | undefined, name: string, command: string): string {
  if (!value) throw new CamgateError('CAMGATE_USAGE', `${command}: --${name} is required (see --help)`);
  return value;
}

/** Reads one line (a password) from standard input. */
export async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (Buffer.concat(chunks).includes(10)) break;
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}
