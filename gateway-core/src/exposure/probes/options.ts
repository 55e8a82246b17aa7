import { CamgateError } from '../../util/index.js';
import type { ProbeEvidence } from '../evidence.js';
import { ProbeConnection } from './connection.js';

/** Limits shared by every probe. */
export interface ProbeOptions {
  /** Deadline for the TCP connect (and TLS handshake), in ms. */
  connectTimeoutMs?: number;
  /** Deadline for each answer after connecting, in ms. */
  readTimeoutMs?: number;
  /** Most bytes read from the peer per answer; more is dropped unread. */
  maxBytes?: number;
  /** Most characters of banner kept as evidence (after escaping). */
  maxBannerChars?: number;
  signal?: AbortSignal;
}

export const DEFAULT_PROBE_OPTIONS = {
  connectTimeoutMs: 3_000, // 3 s: a home uplink answers well within this
  readTimeoutMs: 3_000, // 3 s
  maxBytes: 16 * 1024, // 16 KiB: headers, a title, a login prompt
  maxBannerChars: 512,
} as const;

export type ResolvedProbeOptions = Required<Omit<ProbeOptions, 'signal'>> & { signal?: AbortSignal };

/** Merges and validates probe options (RangeError/TypeError naming the option). */
export function resolveProbeOptions(opts: ProbeOptions = {}): ResolvedProbeOptions {
  const r = { ...DEFAULT_PROBE_OPTIONS, ...stripUndefined(opts) } as ResolvedProbeOptions;
  for (const k of ['connectTimeoutMs', 'readTimeoutMs', 'maxBytes', 'maxBannerChars'] as const) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${k} must be an integer, got ${String(v)}`);
    if (v < 1 || v > 10_000_000) throw new RangeError(`${k} must be between 1 and 10000000, got ${v}`);
  }
  return r;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Validates a probe's host and port before any socket is opened. */
export function checkHostPort(host: string, port: number): void {
  if (typeof host !== 'string' || host.length === 0 || host.length > 253)
    throw new TypeError(`host must be a non-empty string of at most 253 characters, got ${JSON.stringify(host)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RangeError(`port must be an integer from 1 to 65535, got ${String(port)}`);
}

/** Evidence for a port we could not connect to (refused, timed out, unreachable). */
export function closedEvidence(host: string, port: number, protocol: string, err: unknown): ProbeEvidence {
  const code = err instanceof CamgateError ? err.code : 'CAMGATE_PROBE_UNREACHABLE';
  if (code === 'CAMGATE_PROBE_ABORTED') throw err;
  const detail =
    code === 'CAMGATE_PROBE_REFUSED' ? 'refused' : code === 'CAMGATE_PROBE_TIMEOUT' ? 'connect timeout' : 'unreachable';
  return { host, port, protocol, open: false, detail, at: new Date().toISOString() };
}

/**
 * Opens a probe's connection under its connect deadline; a port we cannot
 * reach becomes that probe's closed evidence instead (an abort still throws).
 */
export async function connectOrClosed(
  host: string,
  port: number,
  protocol: string,
  o: ResolvedProbeOptions,
  tls = false,
): Promise<ProbeConnection | ProbeEvidence> {
  try {
    return await ProbeConnection.open({ host, port, timeoutMs: o.connectTimeoutMs, signal: o.signal, tls });
  } catch (err) {
    return closedEvidence(host, port, protocol, err);
  }
}
