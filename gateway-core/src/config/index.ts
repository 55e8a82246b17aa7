export { loadConfigFile, validateConfig, formatIssues } from './load.js';
export {
  cameraSchema,
  gatewayConfigSchema,
  hubConfigSchema,
  idSchema,
  type CameraConfig,
  type GatewayConfig,
  type HubConfig,
} from './schema.js';
export { CONFIG_PATTERNS, GATEWAY_SECRET_MIN_LENGTH } from './patterns.js';
