import type { ProbeEvidence } from '../evidence.js';
import { ProbeConnection } from './connection.js';
import { checkHostPort, closedEvidence, resolveProbeOptions, type ProbeOptions } from './options.js';

/**
 * Plain TCP connect: `open` is true when the three-way handshake completes.
 * Nothing is sent and nothing is read.
 */
export async function probeTcp(host: string, port: number, options?: ProbeOptions): Promise<ProbeEvidence> {
  checkHostPort(host, port);
  const o = resolveProbeOptions(options);
  let conn: ProbeConnection;
  try {
    conn = await ProbeConnection.open({ host, port, timeoutMs: o.connectTimeoutMs, signal: o.signal });
  } catch (err) {
    return closedEvidence(host, port, 'tcp', err);
  }
  conn.close();
  return { host, port, protocol: 'tcp', open: true, detail: 'connected', at: new Date().toISOString() };
}
