import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { CamgateError } from '../util/index.js';
import { formatPorts, validateTarget } from './targets.js';

/** One port as nmap reported it. */
export interface NmapPort {
  protocol: string;
  port: number;
  /** `open`, `closed`, `filtered`, `open|filtered`… */
  state: string;
  reason?: string;
  service?: { name?: string; product?: string; version?: string; extrainfo?: string; tunnel?: string };
}

export interface NmapHost {
  addresses: string[];
  status?: string;
  ports: NmapPort[];
}

export interface NmapRun {
  version?: string;
  hosts: NmapHost[];
}

export interface NmapOptions {
  /** Path of the nmap binary (see `findNmap()`). */
  nmapPath: string;
  /** Port list; validated, 1–65535. */
  ports: readonly number[];
  /** nmap's own `--host-timeout`, in ms; the child is killed 5 s after it. */
  timeoutMs?: number;
  /** Add `-sV --version-light` (slower, names products). */
  serviceVersion?: boolean;
  /** Most bytes of XML accepted on stdout. */
  maxOutputBytes?: number;
  signal?: AbortSignal;
}

export const DEFAULT_NMAP_OPTIONS = {
  timeoutMs: 120_000, // 2 min per host
  serviceVersion: false,
  maxOutputBytes: 4 * 1024 * 1024, // 4 MiB: far beyond a few dozen ports
} as const;

/**
 * The nmap binary on PATH (or in `dirs`), or undefined. Only an executable
 * file counts.
 */
export async function findNmap(
  dirs: readonly string[] = (process.env.PATH ?? '').split(path.delimiter),
): Promise<string | undefined> {
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, 'nmap');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** `nmap --version` → `7.93`; rejects CAMGATE_EXPOSURE_NMAP_FAILED. */
export function nmapVersion(nmapPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(nmapPath, ['--version'], { timeout: 10_000, maxBuffer: 64 * 1024 }, (err, stdout) => {
      const m = /Nmap version (\S+)/.exec(String(stdout));
      if (err || !m)
        reject(
          new CamgateError(
            'CAMGATE_EXPOSURE_NMAP_FAILED',
            `nmap --version failed: ${err?.message ?? 'no version line'}`,
          ),
        );
      else resolve(m[1] as string);
    });
  });
}

/**
 * The argument array for one scan. The target is validated and comes last,
 * after `--`, so nothing in it can be read as an option (node-nmap 4.0.0 split
 * a target string on spaces, letting `x -oN FILE` smuggle options in).
 */
export function nmapArgs(
  target: string,
  ports: readonly number[],
  opts: { timeoutMs: number; serviceVersion: boolean },
): string[] {
  const t = validateTarget(target);
  const args = [
    '-oX',
    '-', // XML to stdout
    '-Pn', // no host discovery: a home router may drop ping
    '-sT', // connect scan: needs no privileges
    '-n', // no reverse DNS: the only packets go to the target
    '-p',
    formatPorts(ports),
    '--host-timeout',
    `${Math.max(1, Math.ceil(opts.timeoutMs / 1000))}s`,
  ];
  if (opts.serviceVersion) args.push('-sV', '--version-light');
  if (t.includes(':')) args.push('-6');
  args.push('--', t);
  return args;
}

/** Runs nmap against one target; resolves the parsed run, rejects with a CAMGATE_EXPOSURE_* code. */
export function runNmap(target: string, options: NmapOptions): Promise<NmapRun> {
  const o = { ...DEFAULT_NMAP_OPTIONS, ...options };
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1000)
    throw new RangeError(`timeoutMs must be an integer of at least 1000, got ${String(o.timeoutMs)}`);
  const args = nmapArgs(target, o.ports, o);
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) {
      reject(new CamgateError('CAMGATE_EXPOSURE_ABORTED', 'scan aborted'));
      return;
    }
    execFile(
      o.nmapPath,
      args,
      {
        // Our own deadline backs up nmap's --host-timeout.
        timeout: o.timeoutMs + 5_000,
        killSignal: 'SIGKILL',
        maxBuffer: o.maxOutputBytes,
        signal: o.signal,
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string };
          if (o.signal?.aborted || e.name === 'AbortError')
            reject(new CamgateError('CAMGATE_EXPOSURE_ABORTED', 'scan aborted; nmap killed'));
          else if (e.killed || e.signal === 'SIGKILL')
            reject(
              new CamgateError('CAMGATE_EXPOSURE_NMAP_TIMEOUT', `nmap did not finish in ${o.timeoutMs + 5_000} ms`),
            );
          else
            reject(
              new CamgateError(
                'CAMGATE_EXPOSURE_NMAP_FAILED',
                `nmap failed: ${String(stderr).trim().slice(0, 300) || e.message}`,
              ),
            );
          return;
        }
        try {
          resolve(parseNmapXml(String(stdout)));
        } catch (parseErr) {
          reject(parseErr);
        }
      },
    );
  });
}

const ARRAYS = new Set(['nmaprun.host', 'nmaprun.host.address', 'nmaprun.host.ports.port']);

/**
 * Parses nmap's XML (`-oX`). Tolerates ports without `<service>` and hosts
 * without `<ports>`; rejects CAMGATE_EXPOSURE_NMAP_PARSE for anything that is
 * not an `<nmaprun>` document.
 */
export function parseNmapXml(xml: string, maxChars = 8 * 1024 * 1024): NmapRun {
  if (typeof xml !== 'string' || xml.length > maxChars)
    throw new CamgateError('CAMGATE_EXPOSURE_NMAP_PARSE', `nmap XML missing or larger than ${maxChars} characters`);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    // Entities stay literal: nothing in a scan report needs expansion.
    processEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (_name, jpath) => ARRAYS.has(String(jpath)),
  });
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (err) {
    throw new CamgateError(
      'CAMGATE_EXPOSURE_NMAP_PARSE',
      `nmap XML is not well formed: ${(err as Error).message.slice(0, 200)}`,
    );
  }
  const run = (doc as { nmaprun?: unknown }).nmaprun;
  if (!run || typeof run !== 'object')
    throw new CamgateError('CAMGATE_EXPOSURE_NMAP_PARSE', 'nmap XML has no <nmaprun> root');
  const r = run as Record<string, unknown>;
  const hosts: NmapHost[] = [];
  for (const h of asArray(r.host)) {
    if (!h || typeof h !== 'object') continue;
    const host = h as Record<string, unknown>;
    const addresses = asArray(host.address)
      .map((a) => str((a as Record<string, unknown>)?.addr))
      .filter((a): a is string => a !== undefined);
    const ports: NmapPort[] = [];
    const portsEl = host.ports as Record<string, unknown> | undefined;
    for (const p of asArray(portsEl && typeof portsEl === 'object' ? portsEl.port : undefined)) {
      const port = p as Record<string, unknown>;
      const portid = Number(port?.portid);
      if (!Number.isInteger(portid) || portid < 1 || portid > 65535) continue;
      const state = port.state as Record<string, unknown> | undefined;
      const out: NmapPort = {
        protocol: str(port.protocol) ?? 'tcp',
        port: portid,
        state: str(state?.state) ?? 'unknown',
      };
      const reason = str(state?.reason);
      if (reason) out.reason = reason;
      const svc = port.service as Record<string, unknown> | undefined;
      if (svc && typeof svc === 'object') {
        out.service = {};
        for (const k of ['name', 'product', 'version', 'extrainfo', 'tunnel'] as const) {
          const v = str(svc[k]);
          if (v !== undefined) out.service[k] = v;
        }
      }
      ports.push(out);
    }
    const status = str((host.status as Record<string, unknown> | undefined)?.state);
    hosts.push({ addresses, ports, ...(status ? { status } : {}) });
  }
  const version = str(r.version);
  return { hosts, ...(version ? { version } : {}) };
}

function asArray(v: unknown): unknown[] {
  return v === undefined || v === null || v === '' ? [] : Array.isArray(v) ? v : [v];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}
