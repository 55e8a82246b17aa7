import type { ProbeEvidence } from '../evidence.js';
import type { ProbeProtocol } from '../targets.js';
import { probeHttp } from './http.js';
import type { ProbeOptions } from './options.js';
import { probeRtsp } from './rtsp.js';
import { probeTcp } from './tcp.js';
import { probeTelnet } from './telnet.js';

/**
 * The built-in probe for `protocol` on `host:port`. One dispatch for the hub's outside scan and the gateway's
 * attribution probes, so both see a port the same way (attribution compares what each saw).
 */
export function probeFor(
  host: string,
  port: number,
  protocol: ProbeProtocol,
  opts: ProbeOptions,
): Promise<ProbeEvidence> {
  switch (protocol) {
    case 'rtsp':
      return probeRtsp(host, port, opts);
    case 'http':
      return probeHttp(host, port, opts);
    case 'https':
      return probeHttp(host, port, { ...opts, tls: true });
    case 'telnet':
      return probeTelnet(host, port, opts);
    default:
      return probeTcp(host, port, opts);
  }
}
