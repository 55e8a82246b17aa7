/** exposure: probes, nmap runner, outside monitor and LAN audit (docs/exposure.md). */
export { findNmap } from './nmap.js';
export { DEFAULT_EXPOSURE_PORTS, TargetPolicy, validatePorts, validateTarget, type ProbeProtocol } from './targets.js';
export { ExposureScanner, type ScanResult } from './scanner.js';
export { ExposureMonitor } from './monitor.js';
export { LanAudit, type AuditCamera, type AuditResult, type LanAuditOptions } from './audit/index.js';
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
