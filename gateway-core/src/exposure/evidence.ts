/**
 * Evidence and flag shapes used by the exposure folder. They mirror the
 * interface of `src/alerts/` (FlagStore) structurally, so the monitor and the
 * audit can feed any store with a matching `reconcile()` without this library
 * folder depending on the alerts implementation.
 */

export type FlagKind = 'exposed' | 'telnet-open' | 'upnp-mapping' | 'default-credentials' | 'direct-connection';

/** What a probe saw, attached to flags as proof. */
export interface Evidence {
  host: string;
  port?: number;
  protocol?: string;
  banner?: string;
  detail?: string;
  /** ISO 8601 time of the observation. */
  at: string;
}

/** The outcome of one probe of one port. */
export interface ProbeEvidence extends Evidence {
  port: number;
  protocol: string;
  /** True when a TCP connection was accepted (the service is reachable). */
  open: boolean;
  /** Protocol facts (status code, realm, title, certificate subject…), all printable. */
  facts?: Record<string, string | number | boolean>;
}

export interface FlagObservation {
  kind: FlagKind;
  gatewayId: string;
  cameraId?: string;
  /** Distinguishes several flags of one kind (for example the port). */
  key?: string;
  evidence: Evidence[];
  /** Plain words telling the owner what to do. */
  advice: string;
  source: 'hub' | 'gateway';
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
