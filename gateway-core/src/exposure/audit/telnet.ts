import { adviceFor } from '../../alerts/index.js';
import { toEvidence, type FlagObservation } from '../evidence.js';
import { mapLimit } from '../probes/connection.js';
import type { ProbeOptions } from '../probes/options.js';
import { probeTelnet } from '../probes/telnet.js';
import type { AuditCamera } from './types.js';

/** Mirai tries 23 first, then 2323. */
export const DEFAULT_TELNET_PORTS: readonly number[] = Object.freeze([23, 2323]);

/**
 * Looks for telnet on each camera: an accepted connection is a `telnet-open`
 * flag with the banner as evidence. Reads the banner only; never logs in.
 */
export async function auditTelnet(
  gatewayId: string,
  cameras: readonly AuditCamera[],
  opts: ProbeOptions & { concurrency?: number } = {},
): Promise<FlagObservation[]> {
  const jobs = cameras.flatMap((c) => (c.telnetPorts ?? DEFAULT_TELNET_PORTS).map((port) => ({ c, port })));
  const results = await mapLimit(jobs, opts.concurrency ?? 4, async ({ c, port }) => ({
    c,
    ev: await probeTelnet(c.host, port, opts),
  }));
  return results
    .filter(({ ev }) => ev.open)
    .map(({ c, ev }) => ({
      kind: 'telnet-open' as const,
      gatewayId,
      cameraId: c.id,
      key: `port-${ev.port}`,
      evidence: [toEvidence(ev)],
      advice: adviceFor('telnet-open', {
        port: ev.port,
        protocol: 'telnet',
        ...(c.name ? { cameraName: c.name } : {}),
      }),
      source: 'gateway' as const,
    }));
}
