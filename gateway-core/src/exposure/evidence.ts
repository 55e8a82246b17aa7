/**
 * Evidence shapes of the exposure folder. Flag types come from `src/alerts/`;
 * the monitor and the audit only need `FlagSink.reconcile()`, which
 * `FlagStore` implements, so tests and other stores can stand in.
 */

import type { Evidence, FlagKind, FlagObservation } from '../alerts/index.js';

export type { Evidence, FlagKind, FlagObservation };

/** The outcome of one probe of one port. */
export interface ProbeEvidence extends Evidence {
  port: number;
  protocol: string;
  /** True when a TCP connection was accepted (the service is reachable). */
  open: boolean;
  /** Protocol facts (status code, realm, title, certificate subject…), all printable. */
  facts?: Record<string, string | number | boolean>;
}

export interface FlagScope {
  source: 'hub' | 'gateway';
  gatewayId: string;
  kinds: FlagKind[];
  cameraId?: string;
}

/**
 * What the monitor and the audit need from a flag store: `FlagStore` from
 * `src/alerts/` satisfies it. Returning the transitions lets callers log them.
 */
export interface FlagSink {
  reconcile(scope: FlagScope, found: FlagObservation[]): Promise<unknown>;
}

/** Strips a ProbeEvidence down to the Evidence fields a flag carries. */
export function toEvidence(e: ProbeEvidence): Evidence {
  const out: Evidence = { host: e.host, port: e.port, protocol: e.protocol, at: e.at };
  if (e.banner !== undefined) out.banner = e.banner;
  const facts = e.facts ? Object.entries(e.facts).map(([k, v]) => `${k}=${String(v)}`) : [];
  const detail = [e.detail, ...facts].filter((s) => s !== undefined && s !== '').join('; ');
  if (detail) out.detail = detail;
  return out;
}
