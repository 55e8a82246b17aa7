/** exposure: probes, nmap runner, outside monitor and LAN audit (docs/exposure.md). */
export { findNmap } from './nmap.js';
export { DEFAULT_EXPOSURE_PORTS, TargetPolicy, validatePorts, validateTarget, type ProbeProtocol } from './targets.js';
export { ExposureScanner, type ScanResult } from './scanner.js';
export { ExposureMonitor, type MonitoredCamera, type PortAttribution } from './monitor.js';
export { LanAudit, type AuditCamera, type AuditResult, type LanAuditOptions } from './audit/index.js';
export {
  ATTRIBUTION_LIMITS,
  ATTRIBUTION_REPLY,
  ATTRIBUTION_REQUEST,
  attributeFindings,
  findingOf,
  parseAttributionReply,
  parseAttributionRequest,
  type AttributionCamera,
  type AttributionFinding,
  type AttributionMatch,
  type AttributionRequest,
} from './attribution.js';
export {
  cameraIpv6Addresses,
  IPV6_LIMITS,
  isGlobalIpv6,
  parseNeighbours,
  readNeighbours,
  type Neighbour,
} from './ipv6.js';
export {
  CanaryInbox,
  CanaryReporter,
  DEFAULT_CANARY_PORTS,
  LanCanary,
  readConntrack,
  ScanDetector,
  SCANNER_PORTS,
  type CanaryAttempt,
  type CanaryReport,
  type ConntrackReadOptions,
  type LanCanaryOptions,
  type ScanDetectorOptions,
  type ScanFinding,
} from './canary/index.js';
export { auditUpnp, type PortMapping, type UpnpOptions } from './audit/index.js';
export { type ProbeEvidence } from './evidence.js';
export { type ProbeOptions } from './probes/options.js';
export { probeFor } from './probes/probe-for.js';
