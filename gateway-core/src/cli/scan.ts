import { DEFAULT_EXPOSURE_PORTS, ExposureScanner, TargetPolicy, validateTarget } from '../exposure/index.js';
import { CamgateError } from '../util/index.js';
import { cliLogger, parse } from './common.js';
import { say } from './output.js';

export const SCAN_HELP = `camgate scan — probe one address for camera services reachable from where you run it

Usage:
  camgate scan TARGET [--ports LIST] [--engine auto|builtin|nmap] [--json]

TARGET is one IP address or hostname (no ranges: scan only what you own).
Each open port is probed for what answers (RTSP OPTIONS/DESCRIBE without
credentials, HTTP GET /, telnet banner); nothing logs in.

Options:
  -p, --ports LIST   ports and ranges, e.g. 554,8554,8000-8010 (default: ${DEFAULT_EXPOSURE_PORTS.join(',')})
      --engine E     auto (nmap when installed), builtin or nmap (default: auto)
      --json         print the scan result as one JSON object
  -h, --help         show this help

Exit status: 0 when nothing answered, 3 when a port is open, 1 on errors, 2 on usage errors.`;

/** Most ports one command line may ask for (a /16 of ports is not a camera check). */
const MAX_PORTS = 1024;

/** Parses `554,8000-8010`; throws CAMGATE_USAGE naming the bad part. */
export function parsePortList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,5})(?:-(\d{1,5}))?\s*$/.exec(part);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (!m || lo < 1 || hi > 65535 || hi < lo)
      throw new CamgateError('CAMGATE_USAGE', `--ports: "${part}" is not a port (1-65535) or range (LOW-HIGH)`);
    for (let p = lo; p <= hi; p++) {
      out.add(p);
      if (out.size > MAX_PORTS) throw new CamgateError('CAMGATE_USAGE', `--ports: more than ${MAX_PORTS} ports`);
    }
  }
  return [...out];
}

/** `camgate scan TARGET`: one scan, printed. Returns the exit code (3 when something is open). */
export async function runScan(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ports: { type: 'string', short: 'p' },
      engine: { type: 'string' },
      json: { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) return (say(SCAN_HELP), 0);
  if (positionals.length !== 1)
    throw new CamgateError('CAMGATE_USAGE', 'camgate scan: give exactly one TARGET (see --help)');
  let target: string;
  try {
    target = validateTarget(positionals[0]);
  } catch (err) {
    throw new CamgateError('CAMGATE_USAGE', `camgate scan: ${(err as Error).message}`);
  }
  const engine = values.engine ?? 'auto';
  if (engine !== 'auto' && engine !== 'builtin' && engine !== 'nmap')
    throw new CamgateError('CAMGATE_USAGE', `camgate scan: --engine ${engine}: use auto, builtin or nmap`);
  const ports = values.ports === undefined ? [...DEFAULT_EXPOSURE_PORTS] : parsePortList(values.ports);
  const logger = cliLogger({ 'log-level': values['log-level'] ?? 'warn' }, 'scan');
  // The person at the terminal named this target: it is the only one allowed.
  const scanner = await ExposureScanner.create({ policy: new TargetPolicy({ allow: [target] }), engine, logger });
  const r = await scanner.scan(target, ports);
  if (values.json) {
    say(JSON.stringify(r));
  } else {
    const how = r.engine === 'nmap' ? `nmap ${r.nmapVersion ?? ''}`.trim() : 'built-in probes';
    say(`camgate scan ${r.target}: ${r.ports.length} port(s) with ${how}, ${r.open.length} open`);
    for (const e of r.open) {
      say(`  ${String(e.port).padStart(5)}/tcp  ${e.protocol.padEnd(6)} ${e.banner ?? ''}`);
      if (e.detail) say(`               ${e.detail}`);
    }
  }
  return r.open.length > 0 ? 3 : 0;
}
