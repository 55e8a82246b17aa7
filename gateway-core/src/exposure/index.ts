/** exposure: probes, nmap runner, outside monitor and LAN audit (docs/exposure.md). */
export { toEvidence, type Evidence, type FlagScope, type FlagSink, type ProbeEvidence } from './evidence.js';
export { toPrintable, MAX_BANNER_CHARS } from './printable.js';
export { DEFAULT_PROBE_OPTIONS, type ProbeOptions } from './probes/options.js';
export { probeTcp } from './probes/tcp.js';
export { probeRtsp, type RtspProbeOptions } from './probes/rtsp.js';
export { probeHttp, type HttpProbeOptions } from './probes/http.js';
export { probeTelnet, TelnetFilter } from './probes/telnet.js';
export {
  DEFAULT_NMAP_OPTIONS,
  findNmap,
  nmapArgs,
  nmapVersion,
  parseNmapXml,
  runNmap,
  type NmapHost,
  type NmapOptions,
  type NmapPort,
  type NmapRun,
} from './nmap.js';
export {
  DEFAULT_EXPOSURE_PORTS,
  DEFAULT_PORT_PROTOCOLS,
  protocolForPort,
  TargetPolicy,
  validatePorts,
  validateTarget,
  type ProbeProtocol,
  type TargetPolicyOptions,
} from './targets.js';
export {
  DEFAULT_EXPOSURE_SCANNER_OPTIONS,
  ExposureScanner,
  type ExposureScannerOptions,
  type ScanEngine,
  type ScanOptions,
  type ScanResult,
} from './scanner.js';
export {
  DEFAULT_EXPOSURE_MONITOR_OPTIONS,
  ExposureMonitor,
  type ExposureMonitorOptions,
  type MonitoredCamera,
  type AttributeFn,
  type MonitoredGateway,
  type MonitorScanEvent,
  type PortAttribution,
} from './monitor.js';
export {
  ATTRIBUTION_LIMITS,
  ATTRIBUTION_REPLY,
  ATTRIBUTION_REQUEST,
  attributeFindings,
  compareFinding,
  findingOf,
  parseAttributionReply,
  parseAttributionRequest,
  type AttributionCamera,
  type AttributionFinding,
  type AttributionMatch,
  type AttributionReply,
  type AttributionRequest,
} from './attribution.js';
export {
  cameraIpv6Addresses,
  DEFAULT_READ_NEIGHBOURS_OPTIONS,
  IPV6_LIMITS,
  isGlobalIpv6,
  parseNeighbours,
  readNeighbours,
  type Neighbour,
  type ReadNeighboursOptions,
} from './ipv6.js';
export {
  auditDefaultCredentials,
  auditTelnet,
  auditUpnp,
  DEFAULT_CREDENTIALS,
  DEFAULT_TELNET_PORTS,
  DEFAULT_UPNP_OPTIONS,
  discoverIgd,
  LanAudit,
  listPortMappings,
  type AuditCamera,
  type AuditResult,
  type LanAuditOptions,
  type PortMapping,
  type UpnpOptions,
} from './audit/index.js';
