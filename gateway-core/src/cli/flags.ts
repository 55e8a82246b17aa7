import { open } from 'node:fs/promises';
import { sanitizeFlag, type Flag, type FlagTransition } from '../alerts/index.js';
import { CamgateError } from '../util/index.js';
import { parse } from './common.js';
import { say } from './output.js';

export const FLAGS_HELP = `camgate flags — list exposure and compromise flags from a flag file

Usage:
  camgate flags [--file F] [--state raised|cleared] [--current] [--json]

Reads the append-only flag file a hub (exposure.flagsFile) or a gateway
(flagsFile) keeps, without changing it, and prints the raised/cleared
transitions, oldest first.

Options:
  -f, --file F       the flag file (default: flags.jsonl)
      --state S      only transitions to S (raised or cleared); with --current,
                     only flags now in state S
      --current      print the flags as they are now instead of their history
      --json         one JSON object: { file, transitions | flags, skippedLines }
  -h, --help         show this help`;

/** Flag files are bounded by compaction (~10 MB); anything far larger is not one of ours. */
const MAX_FILE_BYTES = 256 * 1024 * 1024; // 256 MiB
const MAX_LINE_CHARS = 1_048_576; // 1 MiB, as the journal

export interface FlagFileContents {
  transitions: FlagTransition[];
  /** The last state of each flag (last line wins, as the store replays it). */
  flags: Flag[];
  /** Lines that were not valid records (torn last line, corruption). */
  skippedLines: number;
}

/** Reads a flag file without opening it for writing: the store that owns it may be running. */
export async function readFlagFile(path: string): Promise<FlagFileContents> {
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      if (size > MAX_FILE_BYTES)
        throw new CamgateError('CAMGATE_FLAG_STORE_IO', `${path} is ${size} bytes; the limit is ${MAX_FILE_BYTES}`);
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof CamgateError) throw err;
    throw new CamgateError('CAMGATE_FLAG_STORE_IO', `cannot read ${path}: ${(err as Error).message}`);
  }
  const transitions: FlagTransition[] = [];
  const flags = new Map<string, Flag>();
  let skippedLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      if (line.length > MAX_LINE_CHARS) throw new Error('line too long');
      const r = JSON.parse(line) as { v?: unknown; type?: unknown; flag?: unknown; transition?: unknown };
      if (r?.v !== 1) throw new Error('not a v1 record');
      if (r.type === 'flag') {
        const f = sanitizeFlag(r.flag);
        flags.set(f.id, f);
      } else if (r.type === 'transition') {
        const t = r.transition as { from?: unknown; to?: unknown; at?: unknown; flag?: unknown };
        if (!['clear', 'raised', 'cleared'].includes(t?.from as string)) throw new Error('bad from');
        if (t.to !== 'raised' && t.to !== 'cleared') throw new Error('bad to');
        if (typeof t.at !== 'string' || Number.isNaN(Date.parse(t.at))) throw new Error('bad time');
        const f = sanitizeFlag(t.flag);
        transitions.push({ flag: f, from: t.from as FlagTransition['from'], to: t.to, at: t.at });
        flags.set(f.id, f);
      } else throw new Error('unknown type');
    } catch {
      skippedLines++;
    }
  }
  return { transitions, flags: [...flags.values()], skippedLines };
}

function where(f: Flag): string {
  return `${f.gatewayId}${f.cameraId ? `/${f.cameraId}` : ''}`;
}

function evidenceLine(f: Flag): string {
  const e = f.evidence[f.evidence.length - 1];
  if (!e) return '';
  const port = e.port !== undefined ? `:${e.port}` : '';
  const what = [e.protocol, e.banner ?? e.detail].filter(Boolean).join(' ');
  return `${e.host}${port}${what ? ` ${what}` : ''}`;
}

/** `camgate flags`: prints a flag file's history (or current flags). Returns the exit code. */
export async function runFlags(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    file: { type: 'string', short: 'f' },
    state: { type: 'string' },
    current: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return (say(FLAGS_HELP), 0);
  const state = values.state;
  if (state !== undefined && state !== 'raised' && state !== 'cleared')
    throw new CamgateError('CAMGATE_USAGE', `camgate flags: --state ${state}: use raised or cleared`);
  const file = values.file ?? 'flags.jsonl';
  const contents = await readFlagFile(file);
  if (values.current) {
    const flags = contents.flags.filter((f) => state === undefined || f.state === state);
    if (values.json) return (say(JSON.stringify({ file, flags, skippedLines: contents.skippedLines })), 0);
    if (flags.length === 0) say(`No ${state ?? ''} flags in ${file}.`.replace('  ', ' '));
    for (const f of flags) {
      say(`${f.state.padEnd(7)} ${f.kind.padEnd(19)} ${where(f)}  since ${f.clearedAt ?? f.raisedAt}  ${f.id}`);
      say(`        ${evidenceLine(f)}`);
      say(`        ${f.advice}`);
    }
  } else {
    const transitions = contents.transitions.filter((t) => state === undefined || t.to === state);
    if (values.json) return (say(JSON.stringify({ file, transitions, skippedLines: contents.skippedLines })), 0);
    if (transitions.length === 0) say(`No ${state ?? ''} transitions in ${file}.`.replace('  ', ' '));
    for (const t of transitions) {
      say(`${t.at}  ${t.to.padEnd(7)} ${t.flag.kind.padEnd(19)} ${where(t.flag)}  ${evidenceLine(t.flag)}`);
    }
  }
  if (contents.skippedLines > 0) say(`(${contents.skippedLines} unreadable line(s) skipped)`);
  return 0;
}
