/**
 * How long the hub waits for slow clients. Node's own defaults are minutes
 * (headers 60 s, whole request 300 s, TLS handshake 120 s): an attack run held
 * half-sent headers 60–77 s. Here: seconds.
 */
import type { ServerOptions } from 'node:http';

export interface HubTimeouts {
  /** Time to receive a request's headers (ms); Node's default is 60 s. */
  headersTimeoutMs?: number;
  /** Time to receive a whole request (ms); Node's default is 300 s. */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this (ms). */
  keepAliveTimeoutMs?: number;
  /** Time to finish the TLS handshake (ms); Node's default is 120 s. */
  tlsHandshakeTimeoutMs?: number;
}

export const DEFAULT_HUB_TIMEOUTS = {
  headersTimeoutMs: 10_000, // 10 s: a browser sends its headers in one packet
  requestTimeoutMs: 30_000, // 30 s: sign-in and API bodies are a few KiB
  keepAliveTimeoutMs: 5_000, // 5 s, Node's default
  tlsHandshakeTimeoutMs: 10_000, // 10 s
} as const;

/** How often Node checks headersTimeout/requestTimeout (ms): how far past them a slow request may run. */
const TIMEOUT_CHECK_MS = 1_000;

/** The http(s).createServer options for these timeouts (the TLS handshake one is passed by the caller). */
export function httpServerTimeouts(t: Required<HubTimeouts>): ServerOptions {
  return {
    headersTimeout: t.headersTimeoutMs,
    requestTimeout: t.requestTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  };
}

export function resolveTimeouts(t: HubTimeouts = {}): Required<HubTimeouts> {
  const o = { ...DEFAULT_HUB_TIMEOUTS, ...t };
  for (const [name, v] of Object.entries(o)) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      throw new TypeError(`hub option timeouts.${name}: ${String(v)} is not allowed (an integer, ms)`);
    }
    if (v < 100 || v > 3_600_000) {
      throw new RangeError(`hub option timeouts.${name}: ${v} is not allowed (100 to 3600000 ms)`);
    }
  }
  // Node requires requestTimeout >= headersTimeout.
  if (o.requestTimeoutMs < o.headersTimeoutMs) {
    throw new RangeError(
      `hub option timeouts.requestTimeoutMs (${o.requestTimeoutMs}) must be at least headersTimeoutMs (${o.headersTimeoutMs})`,
    );
  }
  return o;
}
