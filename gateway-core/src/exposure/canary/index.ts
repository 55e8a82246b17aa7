/** The LAN canary, its report channel to the gateway, and the router-side conntrack reader (docs/exposure.md). */
export {
  assertCanaryAddress,
  DEFAULT_LAN_CANARY_OPTIONS,
  LanCanary,
  type CanaryAttempt,
  type LanCanaryOptions,
} from './canary.js';
export { DEFAULT_CANARY_PORTS, SCANNER_PORTS, TELNET_PORTS, type ScannerPort } from './ports.js';
export {
  CANARY_REPORT_LIMITS,
  CanaryInbox,
  CanaryReporter,
  DEFAULT_CANARY_REPORTER_OPTIONS,
  type CanaryInboxOptions,
  type CanaryReport,
  type CanaryReporterOptions,
} from './report.js';
export {
  DEFAULT_CONNTRACK_READ_OPTIONS,
  parseConntrackXml,
  parseProcConntrack,
  readConntrack,
  type ConntrackFlow,
  type ConntrackReadOptions,
} from './conntrack.js';
export { DEFAULT_SCAN_DETECTOR_OPTIONS, ScanDetector, type ScanDetectorOptions, type ScanFinding } from './detector.js';
