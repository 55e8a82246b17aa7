/** The gateway's LAN audit: telnet, UPnP mappings, factory-default credentials. */
export { LanAudit, type AuditResult, type LanAuditOptions } from './lan-audit.js';
export { auditUpnp, discoverIgd, type PortMapping, type UpnpOptions } from './upnp.js';
export { auditDefaultCredentials, authorization, DEFAULT_CREDENTIALS, tryDefaults } from './default-credentials.js';
export type { AuditCamera } from './types.js';
