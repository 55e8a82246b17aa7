/** The gateway's LAN audit: telnet, UPnP mappings, factory-default credentials. */
export { LanAudit, type AuditResult, type LanAuditOptions } from './lan-audit.js';
export { auditTelnet, DEFAULT_TELNET_PORTS } from './telnet.js';
export {
  auditUpnp,
  DEFAULT_UPNP_OPTIONS,
  discoverIgd,
  findWanService,
  listPortMappings,
  type IgdService,
  type PortMapping,
  type UpnpAuditResult,
  type UpnpOptions,
} from './upnp.js';
export {
  auditDefaultCredentials,
  authorization,
  DEFAULT_CREDENTIALS,
  DEFAULT_DEFAULT_CREDENTIAL_OPTIONS,
  tryDefaults,
  type DefaultCredentialOptions,
} from './default-credentials.js';
export type { AuditCamera } from './types.js';
