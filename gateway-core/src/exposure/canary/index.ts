/** The LAN canary, its report channel to the gateway, and the router-side conntrack reader (docs/exposure.md). */
export { LanCanary, type CanaryAttempt, type LanCanaryOptions } from './canary.js';
export { DEFAULT_CANARY_PORTS, SCANNER_PORTS } from './ports.js';
export { CanaryInbox, CanaryReporter, type CanaryReport } from './report.js';
export {
  parseConntrackXml,
  parseProcConntrack,
  readConntrack,
  type ConntrackFlow,
  type ConntrackReadOptions,
} from './conntrack.js';
export { ScanDetector, type ScanDetectorOptions, type ScanFinding } from './detector.js';
