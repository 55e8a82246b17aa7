/** exposure: probes, nmap runner, outside monitor and LAN audit (docs/exposure.md). */
export { findNmap } from './nmap.js';
export { DEFAULT_EXPOSURE_PORTS, TargetPolicy, validatePorts, validateTarget, type ProbeProtocol } from './targets.js';
export { ExposureScanner, type ScanResult } from './scanner.js';
export { ExposureMonitor } from './monitor.js';
export { LanAudit, type AuditCamera, type AuditResult, type LanAuditOptions } from './audit/index.js';
