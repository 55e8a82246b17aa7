import type { ProbeEvidence } from '../evidence.js';
import { ProbeConnection } from './connection.js';
import { checkHostPort, connectOrClosed, resolveProbeOptions, type ProbeOptions } from './options.js';

/**
 * Plain TCP connect: `open` is true when the three-way handshake completes.
 * Nothing is sent and nothing is read.
 */
export async function probeTcp(host: string, port: number, options?: ProbeOptions): Promise<ProbeEvidence> {
  checkHostPort(host, port);
  const o = resolveProbeOptions(options);
  const conn = await connectOrClosed(host, port, 'tcp', o);
  if (!(conn instanceof ProbeConnection)) return conn;
  conn.close();
  return { host, port, protocol: 'tcp', open: true, detail: 'connected', at: new Date().toISOString() };
}
